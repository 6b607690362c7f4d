"""Fit each target's score bands (the neutral band's edges) and label heads on development calls: pure functions.

Without a head, the pipeline's label is the band its score falls in, ``score = P(positive) -
P(negative)`` from token logprobs. A small model is rarely *sure* a calm call is neutral, so the
neutral band that fits it is not the symmetric default: this finds, per target, the edges that
maximise macro-F1 on the dev split (ties go to the band nearest the default). A label head
(``Scaling``) goes further: it reads all three log-probabilities, so a P(negative) that rises while
P(neutral) stays the likeliest can still make the label. Both ship in a prompt version's
``calibration.yaml``. Fit on dev, judge on test.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from pydantic import Field

from llm_sentiment.ask.answers import LABELS, Label
from llm_sentiment.ask.calibration import Band, Scaling, Thresholds, log_probabilities
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
    """The model's own score where its label distribution is known (rounded as scores are): a label head's
    score is not one a band could be fitted on."""
    pairs = [
        (t.gold, round(t.probabilities["positive"] - t.probabilities["negative"], 4) if t.probabilities else t.score)
        for t in (c.targets[key] for c in cases if c.split == "dev" and c.error is None)
        if t.gold is not None and t.score is not None
    ]
    return [gold for gold, _ in pairs], [score for _, score in pairs]


class FittedScaling(Scaling):
    l2: float
    dev_macro_f1: float = Field(
        description="Leave-one-out on the dev calls: each call labeled by a head fitted without it."
    )
    dev_calls: int


Probed = tuple[Sequence[Label], Sequence[dict[Label, float]]]
"""Gold labels and the model's label distributions for them, from one dataset."""

_L2 = (0.001, 0.003, 0.01, 0.03, 0.1)
"""Pull of the head towards no change (identity weights, zero bias); chosen per target by leave-one-out."""
_STEPS, _LOO_STEPS, _RATE = 3000, 800, 0.5
"""Gradient steps of the head that ships, and of each of the n leave-one-out heads (they stop earlier to keep
n fits per pull cheap), at this rate."""
_MIN_PER_LABEL = 2


def fit_head_across(groups: Sequence[Probed]) -> FittedScaling | None:
    """A label head (``Scaling``) fitted on the pooled dev calls, each dataset weighing the same; the L2 pull
    with the best leave-one-out mean macro-F1 over the datasets (ties to the stronger pull). None when some
    label has fewer than two gold examples: a head would learn never to answer it."""
    groups = [(gold, probs) for gold, probs in groups if probs]
    if not groups:
        return None
    features = np.vstack([_logs(probs) for _, probs in groups])
    classes = np.concatenate([[LABELS.index(g) for g in gold] for gold, _ in groups])
    weights = np.concatenate([np.full(len(probs), 1 / len(probs)) for _, probs in groups])
    if min(np.bincount(classes, minlength=len(LABELS))) < _MIN_PER_LABEL:
        return None
    sizes = np.cumsum([0, *(len(probs) for _, probs in groups)])
    best: tuple[float, float] | None = None  # (leave-one-out f1, l2)
    for l2 in _L2:
        f1 = _left_out_f1(features, classes, weights, sizes, l2)
        if best is None or round(f1, 9) >= round(best[0], 9):
            best = (f1, l2)
    assert best is not None
    matrix, bias = _descend(features, classes, weights, best[1], _STEPS)
    return FittedScaling(
        weights=[[round(float(v), 4) for v in row] for row in matrix],
        bias=[round(float(v), 4) for v in bias],
        l2=best[1],
        dev_macro_f1=round(best[0], 4),
        dev_calls=len(classes),
    )


def _left_out_f1(
    features: npt.NDArray[np.float64],
    classes: npt.NDArray[np.int_],
    weights: npt.NDArray[np.float64],
    sizes: npt.NDArray[np.int_],
    l2: float,
) -> float:
    """Each call labeled by a head fitted on the others; the mean of the datasets' macro-F1s."""
    held = [
        int(
            _predict(
                features[i : i + 1],
                *_descend(np.delete(features, i, 0), np.delete(classes, i), np.delete(weights, i), l2, _LOO_STEPS),
            )[0]
        )
        for i in range(len(classes))
    ]
    scores = []
    for start, end in itertools.pairwise(sizes):
        gold = [LABELS[c] for c in classes[start:end]]
        matrix = confusion_matrix(gold, [LABELS[c] for c in held[start:end]], LABELS)
        scores.append(macro_f1(matrix, LABELS) or 0.0)
    return float(np.mean(scores))


def fit_heads_across(datasets: Sequence[Sequence[CaseResult]]) -> dict[TargetKey, FittedScaling]:
    """Per target, from the dev cases of each dataset that labels it and has the model's label distribution."""
    heads = {key: fit_head_across([_probed(cases, key) for cases in datasets]) for key in TARGETS}
    return {key: head for key, head in heads.items() if head is not None}


def _probed(cases: Sequence[CaseResult], key: TargetKey) -> Probed:
    pairs = [
        (t.gold, t.probabilities)
        for t in (c.targets[key] for c in cases if c.split == "dev" and c.error is None)
        if t.gold is not None and t.probabilities
    ]
    return [gold for gold, _ in pairs], [probs for _, probs in pairs]


def _logs(probabilities: Sequence[dict[Label, float]]) -> npt.NDArray[np.float64]:
    return np.array([log_probabilities(p) for p in probabilities], dtype=np.float64)


def _descend(
    features: npt.NDArray[np.float64],
    classes: npt.NDArray[np.int_],
    weights: npt.NDArray[np.float64],
    l2: float,
    steps: int,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Weighted softmax regression from the identity by full-batch gradient descent: deterministic."""
    size = len(LABELS)
    identity = np.eye(size)
    matrix, bias = identity.copy(), np.zeros(size)
    target = identity[classes]
    share = weights / weights.sum()
    for _ in range(steps):
        error = (_softmax(features @ matrix.T + bias) - target) * share[:, None]
        matrix -= _RATE * (error.T @ features + l2 * (matrix - identity))
        bias -= _RATE * (error.sum(0) + l2 * bias)
    return matrix, bias


def _predict(
    features: npt.NDArray[np.float64], matrix: npt.NDArray[np.float64], bias: npt.NDArray[np.float64]
) -> npt.NDArray[np.int_]:
    return np.asarray(np.argmax(features @ matrix.T + bias, axis=1))


def _softmax(logits: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return np.asarray(shifted / shifted.sum(axis=1, keepdims=True))
