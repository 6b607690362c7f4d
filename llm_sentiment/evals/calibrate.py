"""Fit each target's score bands (the neutral band's edges) on development calls: pure functions.

The pipeline's label is the band its score falls in, ``score = P(positive) - P(negative)`` from
token logprobs. A small model is rarely *sure* a calm call is neutral, so the neutral band that
fits it is not the symmetric default: this finds, per target, the edges that maximise macro-F1
on the dev split (ties go to the band nearest the default), for a prompt version to ship in its
``calibration.yaml``. Fit on dev, judge on test.
"""

from __future__ import annotations

from collections.abc import Sequence

from llm_sentiment.ask.answers import LABELS, Label
from llm_sentiment.ask.calibration import Band, Thresholds
from llm_sentiment.evals.cases import TARGETS, BandKey, CaseResult, TargetKey
from llm_sentiment.evals.metrics.confusion import confusion_matrix
from llm_sentiment.evals.metrics.f1 import macro_f1

_STEP = 0.05
_DEFAULT = Thresholds()


class FittedBand(Band):
    dev_macro_f1: float | None = None
    dev_calls: int = 0


def _grid() -> list[float]:
    steps = round(2 / _STEP)
    return [round(-1 + i * _STEP, 2) for i in range(1, steps)]


Scored = tuple[Sequence[Label], Sequence[float]]
"""Gold labels and the scores predicted for them, from one dataset."""


def fit_band(gold: Sequence[Label], scores: Sequence[float]) -> FittedBand:
    """The (negative, positive) edges with the best macro-F1; ties to the edges nearest the default."""
    return fit_band_across([(gold, scores)])


def fit_band_across(groups: Sequence[Scored]) -> FittedBand:
    """One band for several datasets at once: the best mean of their macro-F1s (each dataset weighs the same,
    so a large set cannot drown a small one); ties to the edges nearest the default."""
    groups = [(gold, scores) for gold, scores in groups if scores]
    if not groups:
        return FittedBand(positive=_DEFAULT.positive, negative=_DEFAULT.negative)
    best: tuple[float, float, float, float] | None = None  # (f1, -distance, negative, positive)
    grid = _grid()
    for negative in grid:
        for positive in grid:
            if positive <= negative or positive <= 0 or negative >= 0:
                continue
            bands = Thresholds(positive=positive, negative=negative)
            f1 = sum(
                macro_f1(confusion_matrix(list(gold), [bands.label(s) for s in scores], LABELS), LABELS) or 0.0
                for gold, scores in groups
            ) / len(groups)
            distance = abs(positive - _DEFAULT.positive) + abs(negative - _DEFAULT.negative)
            candidate = (round(f1, 9), -round(distance, 9), negative, positive)
            if best is None or candidate[:2] > best[:2]:
                best = candidate
    assert best is not None
    calls = sum(len(scores) for _, scores in groups)
    return FittedBand(positive=best[3], negative=best[2], dev_macro_f1=round(best[0], 4), dev_calls=calls)


def fit(cases: Sequence[CaseResult]) -> dict[BandKey, FittedBand]:
    """Per target (and for segments), from the dev cases that have a score."""
    return fit_across([cases])


def fit_across(datasets: Sequence[Sequence[CaseResult]]) -> dict[BandKey, FittedBand]:
    """Per target, from the dev cases of each dataset that labels it (``fit_band_across``); ``segment`` from
    the dev turns of each dataset with segment labels (each turn one example)."""
    fitted: dict[BandKey, FittedBand] = {
        key: fit_band_across([_scored(cases, key) for cases in datasets]) for key in TARGETS
    }
    fitted["segment"] = fit_band_across([_segment_scored(cases) for cases in datasets])
    return fitted


def _segment_scored(cases: Sequence[CaseResult]) -> Scored:
    pairs = [
        pair
        for c in cases
        if c.split == "dev" and c.error is None and c.gold_segments and c.segment_scores
        for pair in zip(c.gold_segments, c.segment_scores, strict=True)
    ]
    return [gold for gold, _ in pairs], [score for _, score in pairs]


def _scored(cases: Sequence[CaseResult], key: TargetKey) -> Scored:
    pairs = [
        (t.gold, t.score)
        for t in (c.targets[key] for c in cases if c.split == "dev" and c.error is None)
        if t.gold is not None and t.score is not None
    ]
    return [gold for gold, _ in pairs], [score for _, score in pairs]
