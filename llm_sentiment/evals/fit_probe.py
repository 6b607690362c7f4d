"""Fit a label probe on dev calls and write it into a prompt version's ``calibration.yaml``.

    python -m llm_sentiment.evals.fit_probe --prompts v5 --model local/qwen2.5-coder-1.5b --target customer \\
        --dataset callcenter --pool stc3-helpdesk --write llm_sentiment/prompts/v5/calibration.yaml

``--target resolution`` fits the resolution probe on the same customer label slot (``STATUS_PROBE_AT``)
against the calls' resolution labels.

Each ``--dataset`` (a name under ``evals/datasets`` or a directory) gives its dev split; each ``--pool`` a
fetched source's whole dev pool (``python -m llm_sentiment.evals.sources fetch NAME`` first), many more
labeled conversations than its eval sample. Test calls are never read. For every call the label question
is rendered as ``analyze`` asks it and the embedded model's hidden state is read where the answer names
the label (in this process; states are cached under ``<home>/cache/probe-states``, so a refit reads none
again). The probe is fitted by ``evals.probe``; without ``--write`` the YAML is printed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt
import yaml
from tqdm import tqdm

from llm_sentiment._util.jsoncache import JsonCache
from llm_sentiment.analysis.questions import LABEL_ANSWER_START, PROBED_STATUSES, STATUS_PROBE_AT, question_messages
from llm_sentiment.ask.answers import LABELS
from llm_sentiment.ask.prompts import PromptSet
from llm_sentiment.errors import LLMSentimentError
from llm_sentiment.evals.dataset import EvalCall, load_dataset
from llm_sentiment.evals.probe import FittedProbe, Labeled, fit_probe_across
from llm_sentiment.evals.sources import SOURCES
from llm_sentiment.llm.base import HiddenStates
from llm_sentiment.roles.rules import assign_roles, parse_roles_spec
from llm_sentiment.settings import Settings
from llm_sentiment.transcript.formats.plain import parse_plain_text
from llm_sentiment.wiring import embedded_model


def _gold(call: EvalCall, target: str) -> str | None:
    if target == "resolution":
        return call.labels.resolution
    if target == "overall":
        return call.labels.overall
    role = call.labels.customer if target == "customer" else call.labels.agent
    return role.sentiment if role else None


def _dev(calls: list[EvalCall], target: str) -> list[EvalCall]:
    return [c for c in calls if c.split == "dev" and _gold(c, target) is not None]


def _states(
    calls: list[EvalCall],
    target: str,
    prompts: PromptSet,
    model: tuple[HiddenStates, str],
    cache: JsonCache,
    name: str,
) -> npt.NDArray[np.float64]:
    """Each call's hidden state where its label answer names the label; ``model`` with what identifies its file."""
    local, identity = model
    rows = []
    for call in tqdm(calls, desc=name, unit="call", file=sys.stderr):
        roles = parse_roles_spec(call.roles) if call.roles else None
        transcript = assign_roles(parse_plain_text(call.transcript), roles)
        messages = [m.model_dump() for m in question_messages(prompts, transcript, _slot_question(target))]
        key = hashlib.sha256(json.dumps([identity, messages, LABEL_ANSWER_START]).encode()).hexdigest()
        state = cache.get_json(key)
        if state is None:
            state = local.read_states(messages, [LABEL_ANSWER_START], list(LABELS))[0]
            cache.set_json(key, state)
        rows.append(state)
    return np.asarray(rows, dtype=np.float64)


def _slot_question(target: str) -> str:
    """The label question whose slot a target's probe reads."""
    return STATUS_PROBE_AT if target == "resolution" else f"{target}_sentiment"


def _write(path: Path, model: str, target: str, fitted: FittedProbe) -> None:
    """Replace (or add) the ``probes`` block at the end of the calibration file; what is above it is kept."""
    text = path.read_text(encoding="utf-8")
    head, _, old = text.partition("\nprobes:\n")
    probes = yaml.safe_load("probes:\n" + old)["probes"] if old else {}
    probes.setdefault(model, {})[target] = fitted.probe.model_dump()
    block = yaml.safe_dump({"probes": probes}, sort_keys=False, default_flow_style=None, width=200)
    path.write_text(head.rstrip("\n") + "\n" + block, encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--target", choices=("customer", "agent", "overall", "resolution"), default="customer")
    parser.add_argument("--dataset", action="append", default=[], help="an eval dataset: its dev split")
    parser.add_argument("--pool", action="append", default=[], choices=sorted(SOURCES), help="a source's dev pool")
    parser.add_argument("--write", type=Path, help="the calibration.yaml to write the probe into")
    args = parser.parse_args(argv)
    settings = Settings()
    prompts = PromptSet(settings.prompts_dir, args.prompts)
    groups: list[tuple[str, list[EvalCall]]] = []
    try:
        for name in args.dataset:
            dataset = load_dataset(name, settings.evals_dir / "datasets")
            groups.append((dataset.name, _dev(dataset.calls, args.target)))
        for name in args.pool:
            source = SOURCES[name]
            raw = {f.name: settings.home / "datasets" / name / "raw" / f.name for f in source.files}
            if source.pool is None or not all(p.is_file() for p in raw.values()):
                raise SystemExit(f"{name}: no pool; fetch it first: python -m llm_sentiment.evals.sources fetch {name}")
            groups.append((f"{name} (pool)", _dev(source.pool(raw), args.target)))
        model = embedded_model(settings, args.model)
        cache = JsonCache(settings.home / "cache" / "probe-states")
        labeled = [
            Labeled(
                name=name,
                ids=[c.id for c in calls],
                gold=[g for c in calls if (g := _gold(c, args.target)) is not None],
                states=_states(calls, args.target, prompts, model, cache, name),
            )
            for name, calls in groups
        ]
    except LLMSentimentError as exc:
        raise SystemExit(f"error: {exc}") from None
    fitted = fit_probe_across(labeled, PROBED_STATUSES if args.target == "resolution" else LABELS)
    print(
        f"# {args.prompts} {args.target} probe for {args.model}: {fitted.components} components, L2 {fitted.l2}; "
        "out-of-fold dev macro-F1 "
        + ", ".join(f"{n} {f1} ({fitted.dev_calls[n]} calls)" for n, f1 in fitted.dev_macro_f1.items())
    )
    if args.write:
        _write(args.write, args.model, args.target, fitted)
    else:
        print(yaml.safe_dump({"probes": {args.model: {args.target: fitted.probe.model_dump()}}}, sort_keys=False))


if __name__ == "__main__":
    main()
