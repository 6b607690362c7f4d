"""Fit one set of score bands and label heads on the dev calls of several eval runs (datasets) at once, and
print them as a prompt version's ``calibration.yaml``: the written set and the real ones pull on the same
bands and heads.

    python -m llm_sentiment.evals.calibrate_runs --prompts v7 --model local/qwen2.5-coder-1.5b OUT1 OUT2 ...

Each OUT is an ``llm-sentiment eval --output`` directory of that prompt version and model.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import yaml

from llm_sentiment.ask.calibration import Band, Calibration, Scaling
from llm_sentiment.evals.calibrate import fit_across, fit_heads_across
from llm_sentiment.evals.cases import CaseResult


def _cases(run: Path, config: str) -> list[CaseResult]:
    lines = (run / "cases.jsonl").read_text(encoding="utf-8").splitlines()
    return [c for c in (CaseResult.model_validate(json.loads(line)) for line in lines) if c.config == config]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--prompts", required=True)
    parser.add_argument("--model", required=True)
    args = parser.parse_args(argv)
    config = f"{args.prompts}@{args.model}"
    datasets = [_cases(run, config) for run in args.runs]
    fitted = fit_across(datasets)
    bands = {str(k): Band(positive=b.positive, negative=b.negative) for k, b in fitted.items() if b.dev_calls}
    names = ", ".join(
        f"{run.name} ({sum(c.split == 'dev' for c in cases)} dev calls)"
        for run, cases in zip(args.runs, datasets, strict=True)
    )
    heads = fit_heads_across(datasets)
    calibration = Calibration(
        fitted_on=f"the dev splits of {names}, each weighing the same",
        models={args.model: bands},
        scaling={args.model: {str(k): Scaling(weights=h.weights, bias=h.bias) for k, h in heads.items()}}
        if heads
        else {},
    )
    print(
        f"# {args.prompts}: bands fitted jointly; dev mean macro-F1 "
        + ", ".join(f"{k} {b.dev_macro_f1}" for k, b in fitted.items() if b.dev_calls)
    )
    print(
        "# label heads (they decide the label where given); leave-one-out dev mean macro-F1 "
        + ", ".join(f"{k} {h.dev_macro_f1} (L2 {h.l2}, {h.dev_calls} calls)" for k, h in heads.items())
    )
    print(yaml.safe_dump(calibration.model_dump(mode="json"), sort_keys=False, default_flow_style=None), end="")


if __name__ == "__main__":
    main()
