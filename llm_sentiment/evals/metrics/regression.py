"""Error of predicted scores against gold labels mapped onto the score scale."""

from __future__ import annotations

from collections.abc import Sequence

LABEL_SCORES: dict[str, float] = {"positive": 1.0, "neutral": 0.0, "negative": -1.0}


def mean_absolute_error(gold: Sequence[float], predicted: Sequence[float]) -> float | None:
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold values but {len(predicted)} predictions")
    if not gold:
        return None
    return sum(abs(g - p) for g, p in zip(gold, predicted, strict=True)) / len(gold)


def score_mae(gold_labels: Sequence[str], scores: Sequence[float]) -> float | None:
    """MAE of scores in [-1, 1] against gold labels mapped to +1 / 0 / -1."""
    return mean_absolute_error([LABEL_SCORES[g] for g in gold_labels], scores)
