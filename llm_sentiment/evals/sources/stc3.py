"""NTCIR-14 STC-3 customer-helpdesk dialogues (DCH-1): real Weibo helpdesk threads, translated to
English, each rated by 19 annotators for customer satisfaction and task accomplishment.

The customer label comes from the satisfaction ratings and the resolution from the accomplishment
ratings; the agent and the overall call are not rated, so they stay unlabeled. Mapping rules and
figures: evals/datasets/stc3-helpdesk/README.md.
"""

from __future__ import annotations

import json
import statistics
import zipfile
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from llm_sentiment.ask.answers import LABELS, Label
from llm_sentiment.evals.dataset import CallLabels, EvalCall, Resolution, RoleLabels
from llm_sentiment.evals.metrics.confusion import confusion_matrix
from llm_sentiment.evals.metrics.f1 import macro_f1
from llm_sentiment.evals.sources.agreement import krippendorff_alpha
from llm_sentiment.evals.sources.base import Conversion, RemoteFile, Source, sample, shortest_covering, split_of

NAME = "stc3-helpdesk"
ARCHIVE = RemoteFile(
    repos=("sakai-lab/stc3-dataset", "SB233/stc3-dataset"),
    commit="90da527709dab26a4912a70746c09da06518d46b",
    path="data.zip",
    sha256="b0801c3e922bed2a356669e01db362cb283eb0bc451d3f0cedbfc0aed708a794",
)
MEMBER = "data/train_data_en.json"
"""The English training dialogues: the only English file with the annotators' ratings (the test
file's ratings were never published)."""
PER_LABEL = 19
"""Dialogues per customer label per split: 57 per split, every label equally often."""
_SPEAKERS = {"customer": "Customer", "helpdesk": "Agent"}
_SATISFACTION: dict[int, Label] = {1: "positive", 0: "neutral", -1: "negative"}
_ACCOMPLISHMENT: dict[int, Resolution] = {1: "resolved", 0: "partial", -1: "unresolved"}


def _sign(scores: Sequence[int]) -> int:
    middle = statistics.median(scores)
    return (middle > 0) - (middle < 0)


def satisfaction_label(scores: Sequence[int]) -> Label:
    """The customer label from S-scores on the source's -2..2 scale: the median's side of 0. Positive
    exactly when a majority rated the customer satisfied (1 or 2), negative when a majority rated them
    dissatisfied (-1 or -2), neutral otherwise."""
    return _SATISFACTION[_sign(scores)]


def resolution_label(scores: Sequence[int]) -> Resolution:
    """The resolution from A-scores (task accomplishment, -2..2) by the same median rule: accomplished
    by a majority -> resolved, not accomplished by a majority -> unresolved, otherwise partial."""
    return _ACCOMPLISHMENT[_sign(scores)]


def _transcript(turns: Sequence[Mapping[str, Any]]) -> str:
    """One `Agent:`/`Customer:` line per turn, a turn's posts joined; turns whose posts were all emoji or
    photos (empty in the source) are left out."""
    lines = []
    for turn in turns:
        text = " ".join(" ".join(u.split()) for u in turn["utterances"] if u.strip())
        if text:
            lines.append(f"{_SPEAKERS[turn['sender']]}: {text}")
    return "\n".join(lines) + "\n"


def _votes(scores: Sequence[int]) -> str:
    counts = Counter(scores)
    return " ".join(f"{v:+d}:{counts[v]}" for v in (2, 1, 0, -1, -2))


def convert_dialogue(dialogue: Mapping[str, Any]) -> EvalCall | None:
    """One call, or None for a dialogue without a line from both sides."""
    transcript = _transcript(dialogue["turns"])
    if not all(f"\n{speaker}: " in f"\n{transcript}" for speaker in _SPEAKERS.values()):
        return None
    satisfaction = [a["quality"]["S"] for a in dialogue["annotations"]]
    accomplishment = [a["quality"]["A"] for a in dialogue["annotations"]]
    return EvalCall(
        id=f"stc3-{dialogue['id']}",
        split=split_of(NAME, dialogue["id"]),
        summary=(
            f"Weibo helpdesk dialogue {dialogue['id']} (STC-3, English translation). Customer satisfaction "
            f"by {len(satisfaction)} annotators: {_votes(satisfaction)}; task accomplishment: {_votes(accomplishment)}."
        ),
        transcript=transcript,
        labels=CallLabels(
            customer=RoleLabels(sentiment=satisfaction_label(satisfaction)),
            resolution=resolution_label(accomplishment),
        ),
    )


def one_rater_macro_f1(dialogues: Sequence[Mapping[str, Any]]) -> float | None:
    """What one human rater scores against the label of the others (the median of the other S-scores): the
    ceiling a model can be held to on these labels. The mean over rating positions (the source gives no
    annotator ids), each position scored like a model, by customer macro-F1."""
    ratings = [[a["quality"]["S"] for a in d["annotations"]] for d in dialogues]
    raters = min((len(r) for r in ratings), default=0)
    if raters < 2:
        return None
    scores = []
    for k in range(raters):
        gold = [satisfaction_label(r[:k] + r[k + 1 :]) for r in ratings]
        one = [satisfaction_label([r[k]]) for r in ratings]
        scores.append(macro_f1(confusion_matrix(gold, one, LABELS), LABELS) or 0.0)
    return statistics.mean(scores)


def agreement(dialogues: Sequence[Mapping[str, Any]]) -> dict[str, float | None]:
    """Krippendorff's alpha over every rated dialogue: the raw scores (interval) and the customer label
    each annotator's S-score maps to (nominal)."""
    ratings = [d["annotations"] for d in dialogues]
    return {
        "S interval": krippendorff_alpha([[a["quality"]["S"] for a in r] for r in ratings], "interval"),
        "A interval": krippendorff_alpha([[a["quality"]["A"] for a in r] for r in ratings], "interval"),
        "S as labels": krippendorff_alpha(
            [[satisfaction_label([a["quality"]["S"]]) for a in r] for r in ratings], "nominal"
        ),
    }


def _dialogues(raw: Mapping[str, Path]) -> list[dict[str, Any]]:
    with zipfile.ZipFile(raw[ARCHIVE.name]) as archive:
        dialogues: list[dict[str, Any]] = json.loads(archive.read(MEMBER).decode("utf-8"))
    return dialogues


def _converted(dialogues: Sequence[Mapping[str, Any]]) -> list[EvalCall]:
    return [call for call in map(convert_dialogue, dialogues) if call is not None]


def pool(raw: Mapping[str, Path]) -> list[EvalCall]:
    """Every converted dialogue (1,668), both splits: the sample below is drawn from these."""
    return _converted(_dialogues(raw))


def convert(raw: Mapping[str, Path]) -> Conversion:
    dialogues = _dialogues(raw)
    pool = _converted(dialogues)
    calls = [
        call
        for split in ("dev", "test")
        for call in sample(
            (c for c in pool if c.split == split),
            source=NAME,
            key=lambda c: c.id,
            stratum=lambda c: c.labels.customer.sentiment if c.labels.customer else "",
            per_stratum=PER_LABEL,
        )
    ]
    alphas = agreement(dialogues)
    by_id = {f"stc3-{d['id']}": d for d in dialogues}
    one_rater = {
        split: one_rater_macro_f1([by_id[c.id] for c in calls if c.split == split]) for split in ("dev", "test")
    }
    description = (
        "Real customer-helpdesk dialogues from Weibo (NTCIR-14 STC-3, English translations), "
        f"{ARCHIVE.repos[0]}@{ARCHIVE.commit[:12]}: {MEMBER}. Customer label: the median of 19 annotators' "
        "satisfaction scores (-2..2), by its sign; resolution: the same rule on their accomplishment scores; "
        "agent and overall are not labeled. Krippendorff's alpha over all "
        f"{len(dialogues)} rated dialogues: "
        + ", ".join(f"{k} {v:.3f}" for k, v in alphas.items() if v is not None)
        + f". Sampled {PER_LABEL} dialogues per customer label per split by a hash of the id; on them one "
        "annotator's label against the median of the others scores customer macro-F1 "
        + " / ".join(f"{v:.2f} ({k})" for k, v in one_rater.items() if v is not None)
        + ". Annotations CC BY 4.0; "
        "the dialogues are for non-commercial research only: not redistributed (see the README)."
    )
    ci = shortest_covering(
        calls, lambda c: {c.labels.customer.sentiment} if c.labels.customer else set(), LABELS, per_label=2
    )
    return Conversion(calls=calls, description=description, subsets={"ci": ci})


SOURCE = Source(name=NAME, files=(ARCHIVE,), convert=convert, pool=pool)
