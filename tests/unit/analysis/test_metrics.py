from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llm_sentiment.analysis.behavior import behavioral, longest_monologue, merge, response_gaps
from llm_sentiment.transcript.model import Segment, Transcript


def _seg(i: int, role: str, start: float, end: float, text: str = "one two three four") -> Segment:
    return Segment(id=i, speaker=role.title(), role=role, start=start, end=end, text=text)  # type: ignore[arg-type]


def test_known_timeline() -> None:
    # agent 0-10, customer 12-20 (2 s gap), agent interrupts at 19 until 25 (1 s overlap), 5 s silence, customer 30-40
    call = Transcript(
        segments=[
            _seg(1, "agent", 0, 10, "word " * 20),
            _seg(2, "customer", 12, 20, "word " * 16),
            _seg(3, "agent", 19, 25, "word " * 10),
            _seg(4, "customer", 30, 40, "word " * 20),
        ],
        duration=40,
    )
    b = behavioral(call)
    assert b is not None
    assert b.duration_seconds == 40 and b.talk_time_seconds == 10 + 8 + 5 + 10
    assert b.non_talk_time_seconds == 7 and b.silence_ratio == pytest.approx(7 / 40)
    assert b.agent.talk_time_seconds == 16 and b.agent_talk_ratio == pytest.approx(16 / 40)
    assert b.customer.talk_time_seconds == 18 and b.customer_talk_ratio == pytest.approx(18 / 40)
    assert (b.agent.interruptions, b.customer.interruptions, b.interruption_count) == (1, 0, 1)
    assert b.agent.interruption_seconds == 1 and b.interruption_seconds == 1 and b.customer.interruption_seconds == 0
    assert b.customer.average_response_time_seconds == pytest.approx((2 + 5) / 2)
    assert b.agent.average_response_time_seconds == 0.0
    assert b.agent.words_per_minute == pytest.approx(30 / (16 / 60), abs=0.1)
    assert b.agent.longest_monologue_seconds == 10 and b.customer.longest_monologue_seconds == 10


def test_short_overlap_is_not_an_interruption() -> None:
    call = Transcript(segments=[_seg(1, "agent", 0, 10), _seg(2, "customer", 9.8, 15)])
    b = behavioral(call, min_overlap=0.5)
    assert b is not None and b.interruption_count == 0
    b = behavioral(call, min_overlap=0.1)
    assert b is not None and b.customer.interruptions == 1


def test_monologue_spans_consecutive_turns_of_one_role() -> None:
    segments = [_seg(1, "agent", 0, 5), _seg(2, "agent", 6, 12), _seg(3, "customer", 13, 14), _seg(4, "agent", 15, 16)]
    assert longest_monologue(segments, "agent") == 12
    assert response_gaps(segments, "customer") == [1.0]


def test_untimed_call_has_no_metrics() -> None:
    assert behavioral(Transcript(segments=[Segment(id=1, speaker="A", role="agent", text="hi")])) is None


def test_merge() -> None:
    assert merge([(5, 6), (0, 2), (1, 3), (3, 4), (7, 7)]) == [(0, 4), (5, 6)]


@st.composite
def timelines(draw: st.DrawFn) -> Transcript:
    n = draw(st.integers(min_value=1, max_value=25))
    segments = []
    for i in range(n):
        start = draw(st.floats(min_value=0, max_value=3600, allow_nan=False))
        length = draw(st.floats(min_value=0, max_value=120, allow_nan=False))
        role = draw(st.sampled_from(["agent", "customer"]))
        words = draw(st.integers(min_value=0, max_value=50))
        segments.append(_seg(i + 1, role, start, start + length, "w " * words or "w"))
    duration = draw(st.one_of(st.none(), st.floats(min_value=0, max_value=4000, allow_nan=False)))
    return Transcript(segments=segments, duration=duration)


@settings(max_examples=300, deadline=None)
@given(timelines())
def test_properties(call: Transcript) -> None:
    b = behavioral(call)
    assert b is not None
    values = [v for v in b.model_dump().values() if isinstance(v, float)]
    values += [v for role in (b.agent, b.customer) for v in role.model_dump().values() if isinstance(v, float)]
    assert not any(math.isnan(v) or math.isinf(v) for v in values)
    for ratio in (b.silence_ratio, b.agent_talk_ratio, b.customer_talk_ratio):
        assert 0 <= ratio <= 1
    assert b.talk_time_seconds + b.non_talk_time_seconds <= b.duration_seconds + 1e-6
    assert b.talk_time_seconds <= b.agent.talk_time_seconds + b.customer.talk_time_seconds + 0.01  # each rounded
    assert b.interruption_seconds <= b.talk_time_seconds + 0.01
