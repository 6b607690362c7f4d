"""Krippendorff's alpha: how far a source's annotators agree, computed from their raw labels.

Alpha needs no annotator identities and allows any number of annotators per item, which suits
sources that list each item's labels without saying who gave them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Literal

Metric = Literal["nominal", "interval"]
Value = int | str
"""A label (nominal) or a point on a numeric scale (interval)."""


def _distance(metric: Metric) -> Callable[[Value, Value], float]:
    if metric == "nominal":
        return lambda a, b: 0.0 if a == b else 1.0
    return lambda a, b: float(int(a) - int(b)) ** 2


def krippendorff_alpha(units: Sequence[Sequence[Value]], metric: Metric = "nominal") -> float | None:
    """1 - observed / expected disagreement over every unit's values (units with one value are left
    out: nothing to pair). None when there is no disagreement to expect (a single value overall)."""
    delta = _distance(metric)
    counts = [Counter(values) for values in units if len(values) > 1]
    pooled: Counter[Value] = Counter()
    for unit in counts:
        pooled.update(unit)
    n = sum(pooled.values())
    if n < 2:
        return None
    observed = 0.0
    for unit in counts:
        m = sum(unit.values())
        observed += sum(unit[a] * unit[b] * delta(a, b) for a in unit for b in unit) / (m - 1)
    observed /= n
    expected = sum(pooled[a] * pooled[b] * delta(a, b) for a in pooled for b in pooled) / (n * (n - 1))
    if expected == 0:
        return None
    return 1 - observed / expected
