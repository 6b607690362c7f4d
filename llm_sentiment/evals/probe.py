"""Fit a label probe (``Probe``) on the model's hidden states at labeled dev calls: pure functions.

A softmax regression (over the sentiment labels, or any other classes such as the resolution statuses) on
the state where the model is about to name a label, after standardising it and
projecting it on its leading principal components (fewer numbers to fit than the state has dimensions).
Each dataset weighs the same and, inside one, each gold label does: the eval's metric is macro-F1, and a
pool of real dialogues is mostly neutral. The number of components and the L2 pull are chosen by
cross-validation on the same dev calls (out-of-fold macro-F1, the mean over the datasets; ties to the
simpler fit). The whole map folds into one ``state @ weights + bias``, what ships. Fit on dev, judge on test.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize

from llm_sentiment.ask.answers import LABELS
from llm_sentiment.evals.metrics.confusion import confusion_matrix
from llm_sentiment.evals.metrics.f1 import macro_f1
from llm_sentiment.llm.base import Probe

COMPONENTS = (16, 32, 64, 128, 256)
L2 = (0.01, 0.1, 1.0)
FOLDS = 5

Matrix = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Labeled:
    """One dataset's dev calls: their ids (for the folds), gold classes and hidden states."""

    name: str
    ids: Sequence[str]
    gold: Sequence[str]
    states: Matrix


@dataclass(frozen=True)
class FittedProbe:
    probe: Probe
    components: int
    l2: float
    dev_macro_f1: dict[str, float]
    """Out-of-fold macro-F1 per dataset at the chosen components and pull."""
    dev_calls: dict[str, int]


def fit_probe_across(datasets: Sequence[Labeled], names: Sequence[str] = LABELS) -> FittedProbe:
    """The probe over the classes ``names`` (its columns, in that order) with the best cross-validated mean
    macro-F1 over ``datasets``, refitted on all their calls."""
    states = np.vstack([d.states for d in datasets])
    classes = np.concatenate([[names.index(g) for g in d.gold] for d in datasets])
    weights = np.concatenate([_balanced(d.gold) / len(datasets) for d in datasets])
    folds = np.concatenate([[_fold(i) for i in d.ids] for d in datasets])
    owner = np.concatenate([[n] * len(d.gold) for n, d in enumerate(datasets)])
    bases = [_basis(states[folds != k]) for k in range(FOLDS)]  # one decomposition per fold, for every setting
    best: tuple[float, int, float, list[float]] | None = None
    for components in COMPONENTS:
        if components >= min(len(classes), states.shape[1]):
            continue
        for l2 in sorted(L2, reverse=True):
            predicted = np.zeros(len(classes), dtype=int)
            for k in range(FOLDS):
                held = folds == k
                matrix, bias = _fit(bases[k], classes[~held], weights[~held], components, l2, len(names))
                predicted[held] = np.argmax(states[held] @ matrix + bias, axis=1)
            scores = [_macro_f1(classes[owner == n], predicted[owner == n], names) for n in range(len(datasets))]
            mean = float(np.mean(scores))
            if best is None or round(mean, 9) > round(best[0], 9):
                best = (mean, components, l2, scores)
    if best is None:
        raise ValueError("too few calls to fit a probe")
    _, components, l2, scores = best
    matrix, bias = _fit(_basis(states), classes, weights, components, l2, len(names))
    return FittedProbe(
        probe=Probe(weights=[[_round(v) for v in row] for row in matrix], bias=[_round(v) for v in bias]),
        components=components,
        l2=l2,
        dev_macro_f1={d.name: round(s, 4) for d, s in zip(datasets, scores, strict=True)},
        dev_calls={d.name: len(d.gold) for d in datasets},
    )


@dataclass(frozen=True)
class _Basis:
    """The training states standardised, and their principal directions (rows of ``vt``)."""

    mean: Matrix
    scale: Matrix
    standard: Matrix
    vt: Matrix


def _basis(states: Matrix) -> _Basis:
    mean = states.mean(axis=0)
    scale = states.std(axis=0) + 1e-6
    standard = (states - mean) / scale
    _, _, vt = np.linalg.svd(standard, full_matrices=False)
    return _Basis(mean=mean, scale=scale, standard=standard, vt=vt)


def _fit(
    basis: _Basis, classes: npt.NDArray[np.int_], weights: Matrix, components: int, l2: float, size: int
) -> tuple[Matrix, Matrix]:
    """Project the standardised states on the leading components, fit the softmax regression; folded into one
    affine map of the raw state."""
    mean, scale = basis.mean, basis.scale
    projection = basis.vt[:components].T
    features = basis.standard @ projection
    spread = features.std(axis=0) + 1e-6  # each component on the same scale, so one pull fits all
    matrix, bias = _softmax_regression(features / spread, classes, weights, l2, size)
    raw = (projection / spread) / scale[:, None] @ matrix
    return raw, bias - mean @ raw


def _softmax_regression(
    features: Matrix, classes: npt.NDArray[np.int_], weights: Matrix, l2: float, size: int
) -> tuple[Matrix, Matrix]:
    """Weighted multinomial logistic regression over ``size`` classes with an L2 pull on the weights (not the
    bias), by L-BFGS from zero: deterministic."""
    columns = features.shape[1]
    target = np.eye(size)[classes]
    share = weights / weights.sum()

    def loss(theta: Matrix) -> tuple[float, Matrix]:
        matrix, bias = theta[: columns * size].reshape(columns, size), theta[columns * size :]
        logits = features @ matrix + bias
        logits -= logits.max(axis=1, keepdims=True)
        log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        error = (np.exp(log_p) - target) * share[:, None]
        value = -float((share * (log_p * target).sum(axis=1)).sum()) + l2 * float((matrix**2).sum()) / 2
        gradient = np.concatenate([(features.T @ error + l2 * matrix).ravel(), error.sum(axis=0)])
        return value, gradient

    result = minimize(loss, np.zeros(columns * size + size), jac=True, method="L-BFGS-B", options={"maxiter": 1000})
    theta = np.asarray(result.x)
    return theta[: columns * size].reshape(columns, size), theta[columns * size :]


def _balanced(gold: Sequence[str]) -> Matrix:
    """Weights that give each gold class of one dataset the same total, summing to 1."""
    counts = {label: gold.count(label) for label in set(gold)}
    return np.array([1 / (len(counts) * counts[g]) for g in gold])


def _fold(call_id: str) -> int:
    """A call's fold, from its id alone: the same on every machine and run."""
    return hashlib.sha256(f"probe-fold:{call_id}".encode()).digest()[0] % FOLDS


def _macro_f1(gold: npt.NDArray[np.int_], predicted: npt.NDArray[np.int_], names: Sequence[str]) -> float:
    matrix = confusion_matrix([names[g] for g in gold], [names[p] for p in predicted], names)
    return macro_f1(matrix, names) or 0.0


def _round(value: float) -> float:
    return float(f"{value:.5g}")
