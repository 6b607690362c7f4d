"""Confusion matrices: rows are gold labels, columns are predictions, in a fixed label order."""

from __future__ import annotations

from collections.abc import Sequence

Matrix = list[list[int]]


def confusion_matrix(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> Matrix:
    """``matrix[i][j]`` counts items with gold ``labels[i]`` predicted as ``labels[j]``."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predictions")
    index = {label: i for i, label in enumerate(labels)}
    unknown = sorted({x for x in (*gold, *predicted) if x not in index})
    if unknown:
        raise ValueError(f"labels outside {list(labels)}: {unknown}")
    matrix = [[0] * len(labels) for _ in labels]
    for g, p in zip(gold, predicted, strict=True):
        matrix[index[g]][index[p]] += 1
    return matrix


def total(matrix: Matrix) -> int:
    return sum(sum(row) for row in matrix)
