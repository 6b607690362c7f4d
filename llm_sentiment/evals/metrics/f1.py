"""Per-class precision, recall and F1, and their macro average.

A class that is neither in the gold labels nor predicted has no F1 (0/0) and is left out of the
macro average; a class in gold that is never predicted, or predicted but never in gold, scores 0.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from llm_sentiment.evals.metrics.confusion import Matrix


class ClassScores(BaseModel):
    precision: float | None
    recall: float | None
    f1: float | None
    support: int
    predicted: int


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def per_class(matrix: Matrix, labels: Sequence[str]) -> dict[str, ClassScores]:
    scores: dict[str, ClassScores] = {}
    for i, label in enumerate(labels):
        true_positive = matrix[i][i]
        support = sum(matrix[i])
        predicted = sum(row[i] for row in matrix)
        precision = _ratio(true_positive, predicted)
        recall = _ratio(true_positive, support)
        if support == 0 and predicted == 0:
            f1 = None
        elif true_positive == 0:
            f1 = 0.0
        else:
            f1 = 2 * true_positive / (support + predicted)
        scores[label] = ClassScores(precision=precision, recall=recall, f1=f1, support=support, predicted=predicted)
    return scores


def macro_f1(matrix: Matrix, labels: Sequence[str]) -> float | None:
    """Mean F1 over the classes present in gold or predictions; None when there are none."""
    values = [s.f1 for s in per_class(matrix, labels).values() if s.f1 is not None]
    return sum(values) / len(values) if values else None
