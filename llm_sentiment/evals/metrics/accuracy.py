"""Share of items predicted exactly right."""

from __future__ import annotations

from llm_sentiment.evals.metrics.confusion import Matrix, total


def accuracy(matrix: Matrix) -> float | None:
    """None for an empty matrix: there is nothing to be right about."""
    n = total(matrix)
    if n == 0:
        return None
    return sum(matrix[i][i] for i in range(len(matrix))) / n
