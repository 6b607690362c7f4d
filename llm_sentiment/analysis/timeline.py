"""From per-segment scores to the call's shape: weighted means, minute and quarter series, trends.

Pure functions. Every mean is weighted by speaking time (a long angry turn outweighs a short
"okay"), and every label is the band of its score, as for the LLM's own answers. A call without
timings is laid out at 150 words a minute in transcript order, and the result says so
(``time_basis="estimated"``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from llm_sentiment.ask.calibration import Thresholds
from llm_sentiment.transcript.model import Role
from llm_sentiment.transcript.units import estimated_times

from .result import (
    Direction,
    MinuteSentiment,
    PeriodSentiment,
    Quote,
    RoleTimeline,
    SegmentSentiment,
    Tally,
    Timeline,
    Trend,
    TurningPoint,
)

_MIN_WEIGHT_S = 0.1


@dataclass(frozen=True)
class Placed:
    """A scored segment on the call's time axis (measured or estimated)."""

    segment: SegmentSentiment
    start: float
    end: float

    @property
    def weight(self) -> float:
        return max(_MIN_WEIGHT_S, self.end - self.start)

    def overlap(self, start: float, end: float) -> float:
        """Seconds of this segment inside ``[start, end)``; instants count as a sliver when inside."""
        if self.end <= self.start:
            return _MIN_WEIGHT_S if start <= self.start < end else 0.0
        return max(0.0, min(self.end, end) - max(self.start, start))


def place(segments: list[SegmentSentiment]) -> tuple[list[Placed], bool]:
    """Segments on a time axis, and whether the times are measured (else estimated from word counts)."""
    if segments and all(s.start is not None and s.end is not None for s in segments):
        return [Placed(s, float(s.start or 0.0), float(s.end or 0.0)) for s in segments], True
    spans = estimated_times([len(s.text.split()) for s in segments])
    return [Placed(s, start, end) for s, (start, end) in zip(segments, spans, strict=True)], False


def tally(weighted: Iterable[tuple[SegmentSentiment, float]], thresholds: Thresholds) -> Tally | None:
    """Weighted mean score of ``(segment, weight)`` pairs; None when nothing has weight."""
    rows = [(s, w) for s, w in weighted if w > 0]
    total = sum(w for _, w in rows)
    if not rows or total <= 0:
        return None
    score = round(max(-1.0, min(1.0, sum(s.score * w for s, w in rows) / total)), 4)  # the label of what is shown
    return Tally(label=thresholds.label(score), score=score, segments=len(rows), weight=round(total, 3))


def _of(placed: list[Placed], role: Role | None) -> list[Placed]:
    return [p for p in placed if role is None or p.segment.role == role]


def minutes(placed: list[Placed], duration: float, thresholds: Thresholds) -> list[MinuteSentiment]:
    """One entry per started minute of the call, each tallied over the speech inside it."""
    rows = []
    for minute in range(max(1, math.ceil(duration / 60))):
        start, end = minute * 60.0, min(duration, (minute + 1) * 60.0)

        def inside(role: Role | None, start: float = start, end: float = end) -> Tally | None:
            return tally(((p.segment, p.overlap(start, end)) for p in _of(placed, role)), thresholds)

        rows.append(
            MinuteSentiment(
                minute=minute,
                start=start,
                end=end,
                overall=inside(None),
                agent=inside("agent"),
                customer=inside("customer"),
            )
        )
    return rows


def quarters(placed: list[Placed], duration: float, thresholds: Thresholds) -> list[PeriodSentiment]:
    """The call cut into four equal periods, each tallied over the speech inside it."""
    step = duration / 4
    return [
        PeriodSentiment(
            quarter=q + 1,
            start=round(q * step, 3),
            end=round((q + 1) * step, 3),
            tally=tally(
                ((p.segment, p.overlap(q * step, (q + 1) * step if q < 3 else math.inf)) for p in placed), thresholds
            ),
        )
        for q in range(4)
    ]


def _mean(rows: list[Placed]) -> float:
    total = sum(p.weight for p in rows)
    return sum(p.segment.score * p.weight for p in rows) / total


def _third(rows: list[Placed], last: bool) -> list[Placed]:
    """The segments that make up the first (or last) third of the speaking time, at least one."""
    budget = sum(p.weight for p in rows) / 3
    picked: list[Placed] = []
    for p in reversed(rows) if last else rows:
        if picked and sum(q.weight for q in picked) >= budget:
            break
        picked.append(p)
    return picked


def _change_point(rows: list[Placed]) -> int:
    """The split that best fits the scores as two flat levels (least weighted squared error)."""
    best, best_error = 1, math.inf
    for k in range(1, len(rows)):
        error = 0.0
        for part in (rows[:k], rows[k:]):
            level = _mean(part)
            error += sum(p.weight * (p.segment.score - level) ** 2 for p in part)
        if error < best_error - 1e-12:
            best, best_error = k, error
    return best


def trend(placed: list[Placed], threshold: float) -> Trend | None:
    """improving / declining when the last third's mean differs from the first third's by ``threshold``.

    The turning point is where the scores best split into two levels, reported when that split
    moves the same way as the trend by at least ``threshold``.
    """
    rows = sorted(placed, key=lambda p: (p.start, p.segment.id))
    if len(rows) < 2:
        return None
    change = _mean(_third(rows, last=True)) - _mean(_third(rows, last=False))
    direction: Direction = "improving" if change >= threshold else "declining" if change <= -threshold else "stable"
    point = None
    if direction != "stable":
        k = _change_point(rows)
        before, after = _mean(rows[:k]), _mean(rows[k:])
        if abs(after - before) >= threshold and (after - before) * change > 0:
            turn = rows[k].segment
            point = TurningPoint(
                unit_id=turn.id,
                segment_id=turn.segment_id,
                time=rows[k].start,
                quote=Quote(
                    text=turn.text,
                    segment_id=turn.segment_id,
                    start=turn.start,
                    end=turn.end,
                    speaker=turn.speaker,
                    role=turn.role,
                ),
                before=round(max(-1.0, min(1.0, before)), 4),
                after=round(max(-1.0, min(1.0, after)), 4),
            )
    return Trend(direction=direction, change=round(change, 4), turning_point=point)


def role_timeline(
    placed: list[Placed], role: Role | None, duration: float, thresholds: Thresholds, trend_threshold: float
) -> RoleTimeline:
    own = _of(placed, role)
    return RoleTimeline(
        tally=tally(((p.segment, p.weight) for p in own), thresholds),
        quarters=quarters(own, duration, thresholds),
        trend=trend(own, trend_threshold),
    )


def timeline(
    segments: list[SegmentSentiment],
    thresholds: Thresholds,
    trend_threshold: float,
    call_duration: float | None = None,
) -> Timeline | None:
    """None for a call with no scored segments."""
    if not segments:
        return None
    placed, measured = place(segments)
    duration = round(max(call_duration or 0.0, *(p.end for p in placed)) if measured else placed[-1].end, 3)
    return Timeline(
        time_basis="measured" if measured else "estimated",
        duration=duration,
        overall=role_timeline(placed, None, duration, thresholds, trend_threshold),
        agent=role_timeline(placed, "agent", duration, thresholds, trend_threshold),
        customer=role_timeline(placed, "customer", duration, thresholds, trend_threshold),
        minutes=minutes(placed, duration, thresholds),
    )
