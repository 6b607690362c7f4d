"""Cohen's kappa: agreement between gold and predicted labels beyond what chance would give."""

from __future__ import annotations

from llm_sentiment.evals.metrics.confusion import Matrix, total


def cohen_kappa(matrix: Matrix) -> float | None:
    """(p_o - p_e) / (1 - p_e). None when undefined: no items, or chance agreement is already 1
    (both sides used one and the same label for everything)."""
    n = total(matrix)
    if n == 0:
        return None
    observed = sum(matrix[i][i] for i in range(len(matrix))) / n
    expected = sum(sum(matrix[i]) * sum(row[i] for row in matrix) for i in range(len(matrix))) / (n * n)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1 - expected)
