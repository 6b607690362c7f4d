"""Windows over a long call: cores partition the lines, every window fits, nothing is cut."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llm_sentiment.analysis.long_calls import WindowPlan, estimate_tokens, plan_windows
from llm_sentiment.errors import CallTooLongError


def test_a_call_that_fits_is_one_window() -> None:
    assert plan_windows([10, 20, 30], budget=100, overlap=10) == [WindowPlan(first=0, core=0, end=3, tokens=60)]


def test_windows_overlap_and_cores_partition() -> None:
    plans = plan_windows([40] * 10, budget=130, overlap=45)
    assert len(plans) > 1
    assert plans[0].first == plans[0].core == 0
    for previous, current in itertools.pairwise(plans):
        assert current.core == previous.end, "cores are back to back"
        assert current.first == current.core - 1, "one line of context from the previous window"
    assert plans[-1].end == 10


def test_a_turn_bigger_than_a_window_is_an_error_not_a_cut() -> None:
    with pytest.raises(CallTooLongError) as info:
        plan_windows([10, 500, 10], budget=300, overlap=30)
    assert info.value.code == "input.too_long" and "segment 2" in info.value.message


@given(
    st.lists(st.integers(min_value=1, max_value=60), min_size=1, max_size=200),
    st.integers(min_value=150, max_value=400),
    st.floats(min_value=0, max_value=0.4),
)
def test_every_line_is_scored_once_and_every_window_fits(lines: list[int], budget: int, share: float) -> None:
    overlap = int(budget * share)
    plans = plan_windows(lines, budget, overlap)
    covered = [i for p in plans for i in range(p.core, p.end)]
    assert covered == list(range(len(lines)))
    for plan in plans:
        assert plan.first <= plan.core < plan.end
        assert sum(lines[plan.first : plan.core]) <= overlap
        assert plan.tokens == sum(lines[plan.first : plan.end]) <= max(budget, sum(lines))


def test_token_estimate_is_on_the_safe_side() -> None:
    english = "Hi, I'm calling about my bill again. I was charged twice for October."
    assert estimate_tokens(english) >= len(english) / 3
    assert estimate_tokens("我想取消我的订阅") >= 8
