"""The per-role sentiment timeline as a PNG: score over time, one line per role, turning points marked."""

from __future__ import annotations

import io
from typing import Any

from llm_sentiment.analysis.result import Analysis, RoleTimeline
from llm_sentiment.analysis.timeline import place
from llm_sentiment.ask.calibration import Thresholds
from llm_sentiment.errors import DependencyMissingError

_COLORS = {"agent": "#1f77b4", "customer": "#d62728"}
_LABEL_OFFSETS = {"agent": (0, 14), "customer": (0, -20)}


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise DependencyMissingError(
            "drawing a plot needs matplotlib, which is not installed",
            hint="pip install 'llm-sentiment[plot]' (or matplotlib>=3.8).",
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def timeline_png(analysis: Analysis, thresholds: Thresholds, *, width: float = 10.0, height: float = 4.5) -> bytes:
    """Each segment's score at its midpoint, joined per role; the label bands shaded behind."""
    plt = _pyplot()
    placed, measured = place(analysis.segments)
    figure, axes = plt.subplots(figsize=(width, height), dpi=100)
    try:
        axes.axhspan(thresholds.positive, 1.05, color="#2ca02c", alpha=0.07, linewidth=0)
        axes.axhspan(-1.05, thresholds.negative, color="#d62728", alpha=0.07, linewidth=0)
        axes.axhline(0, color="#999999", linewidth=0.6)
        for role, color in _COLORS.items():
            own = [p for p in placed if p.segment.role == role]
            if not own:
                continue
            times = [(p.start + p.end) / 2 / 60 for p in own]
            axes.plot(times, [p.segment.score for p in own], marker="o", markersize=3, color=color, label=role.title())
            line: RoleTimeline | None = getattr(analysis.timeline, role) if analysis.timeline else None
            point = line.trend.turning_point if line and line.trend else None
            if point is not None and line is not None and line.trend is not None:
                at = next(p for p in own if p.segment.id == point.unit_id)
                x, y = (at.start + at.end) / 2 / 60, at.segment.score
                axes.scatter([x], [y], s=140, facecolors="none", edgecolors=color, linewidths=2, zorder=5)
                minutes, seconds = divmod(int(point.time), 60)
                axes.annotate(
                    f"{role} turns: {line.trend.direction} from #{point.segment_id} ({minutes}:{seconds:02d})",
                    (x, y),
                    textcoords="offset points",
                    xytext=_LABEL_OFFSETS[role],
                    ha="right" if x > axes.get_xlim()[1] * 0.6 else "left",
                    fontsize=8,
                    color=color,
                )
        axes.set_ylim(-1.05, 1.05)
        axes.set_xlim(left=0)
        axes.set_xlabel("minutes" + ("" if measured else " (estimated: the transcript has no times)"))
        axes.set_ylabel("sentiment score")
        axes.set_title("Sentiment over the call")
        axes.legend(loc="lower left", fontsize=8)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(figure)
