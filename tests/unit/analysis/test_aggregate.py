"""Aggregates of per-segment scores: weighted means, minute and quarter series, trends, turning points."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llm_sentiment.analysis.result import SegmentSentiment
from llm_sentiment.analysis.timeline import place, tally, timeline
from llm_sentiment.ask.calibration import Thresholds

T = Thresholds()


def seg(
    i: int, role: str, score: float, start: float | None = None, end: float | None = None, text: str = "some words here"
) -> SegmentSentiment:
    label = T.label(score)
    return SegmentSentiment(
        id=i,
        segment_id=i,
        text=text,
        speaker=role.title(),
        role=role,  # type: ignore[arg-type]
        start=start,
        end=end,
        timing="segment" if start is not None else None,
        label=label,
        score=score,
        confidence=0.8,
        confidence_source="logprobs",
    )


def test_means_are_weighted_by_speaking_time() -> None:
    rows = [seg(1, "customer", -0.9, 0, 30), seg(2, "customer", 0.6, 30, 40)]
    result = tally(((p.segment, p.weight) for p in place(rows)[0]), T)
    assert result is not None
    assert result.score == pytest.approx((-0.9 * 30 + 0.6 * 10) / 40, abs=1e-4)
    assert result.label == "negative" and result.segments == 2 and result.weight == 40


def test_improving_customer_with_its_turning_point() -> None:
    rows = [
        seg(1, "agent", 0.0, 0, 5),
        seg(2, "customer", -0.8, 5, 15),
        seg(3, "agent", 0.1, 15, 20),
        seg(4, "customer", -0.7, 20, 30),
        seg(5, "agent", 0.2, 30, 35),
        seg(6, "customer", 0.7, 35, 45, text="Oh that's wonderful, thank you."),
        seg(7, "customer", 0.8, 45, 50),
    ]
    line = timeline(rows, T, trend_threshold=0.3)
    assert line is not None and line.time_basis == "measured" and line.duration == 50
    trend = line.customer.trend
    assert trend is not None and trend.direction == "improving"
    point = trend.turning_point
    assert point is not None and point.segment_id == 6 and point.time == 35
    assert point.quote.text == "Oh that's wonderful, thank you." and point.quote.role == "customer"
    assert point.before < 0 < point.after
    assert line.agent.trend is not None and line.agent.trend.direction == "stable"
    assert line.agent.trend.turning_point is None


def test_declining_and_stable() -> None:
    falling = [seg(i, "customer", s, i * 10, i * 10 + 8) for i, s in enumerate([0.2, 0.1, 0.0, -0.6, -0.8], start=1)]
    line = timeline(falling, T, trend_threshold=0.3)
    assert line is not None and line.customer.trend is not None
    assert line.customer.trend.direction == "declining" and line.customer.trend.turning_point is not None
    assert line.customer.trend.turning_point.segment_id == 4
    flat = [seg(i, "customer", 0.05 * (-1) ** i, i * 10, i * 10 + 8) for i in range(1, 7)]
    line = timeline(flat, T, trend_threshold=0.3)
    assert line is not None and line.customer.trend is not None and line.customer.trend.direction == "stable"


def test_minutes_and_quarters() -> None:
    rows = [seg(1, "agent", 0.5, 0, 50), seg(2, "customer", -0.5, 50, 70), seg(3, "customer", 0.9, 170, 180)]
    line = timeline(rows, T, trend_threshold=0.3, call_duration=200)
    assert line is not None and line.duration == 200
    assert [m.minute for m in line.minutes] == [0, 1, 2, 3]
    first, second, third, fourth = line.minutes
    assert first.agent is not None and first.agent.score == 0.5 and first.customer is not None
    assert first.overall is not None and first.overall.score == pytest.approx((0.5 * 50 - 0.5 * 10) / 60, abs=1e-4)
    assert second.customer is not None and second.customer.weight == 10 and second.agent is None
    assert third.overall is not None and third.overall.score == 0.9
    assert fourth.overall is None, "nobody spoke in the last minute"
    quarters = line.customer.quarters
    assert [q.quarter for q in quarters] == [1, 2, 3, 4] and quarters[3].end == 200
    assert quarters[0].tally is None and quarters[2].tally is None
    assert quarters[1].tally is not None and quarters[1].tally.score == -0.5
    assert quarters[3].tally is not None and quarters[3].tally.label == "positive"


def test_untimed_calls_use_an_estimated_timeline() -> None:
    rows = [seg(1, "agent", 0.1, text="one two three four"), seg(2, "customer", -0.9, text="five six")]
    line = timeline(rows, T, trend_threshold=0.3)
    assert line is not None and line.time_basis == "estimated"
    assert line.duration == pytest.approx(6 * 0.4)


def test_no_segments_no_timeline() -> None:
    assert timeline([], T, trend_threshold=0.3) is None


scores = st.floats(min_value=-1, max_value=1, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(scores, st.floats(0, 30), st.floats(0, 20), st.booleans()), min_size=1, max_size=30))
def test_every_tally_is_a_score_in_range_with_its_band(rows: list[tuple[float, float, float, bool]]) -> None:
    segments = []
    at = 0.0
    for i, (score, gap, length, agent) in enumerate(rows, start=1):
        segments.append(seg(i, "agent" if agent else "customer", score, at + gap, at + gap + length))
        at += gap + length
    line = timeline(segments, T, trend_threshold=0.3)
    assert line is not None
    assert len(line.minutes) == max(1, math.ceil(line.duration / 60))
    tallies = [line.overall.tally, line.agent.tally, line.customer.tally]
    tallies += [m.overall for m in line.minutes] + [q.tally for q in line.customer.quarters]
    for t in tallies:
        if t is not None:
            assert -1 <= t.score <= 1 and t.label == T.label(t.score)
    low, high = min(s.score for s in segments), max(s.score for s in segments)
    assert line.overall.tally is not None and low - 1e-4 <= line.overall.tally.score <= high + 1e-4
