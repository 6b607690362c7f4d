"""Sentiment units: long turns split into verbatim sentences, with times from words, shares, or none."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llm_sentiment.transcript.model import Segment, Transcript, Word
from llm_sentiment.transcript.units import SECONDS_PER_WORD, estimated_times, sentiment_units

LONG = (
    "I understand, and I apologize for the trouble. Right. I've issued a refund for the duplicate charge. "
    "It will show on your card in three to five business days."
)


def _call(*segments: Segment) -> Transcript:
    return Transcript(segments=list(segments))


def test_short_turns_stay_whole_with_their_own_times() -> None:
    units = sentiment_units(_call(Segment(id=1, speaker="A", start=1.0, end=3.0, text="Hi. How can I help?")), 25)
    assert len(units) == 1
    only = units[0]
    assert (only.sentence, only.text, only.start, only.end, only.timing) == (
        None,
        "Hi. How can I help?",
        1.0,
        3.0,
        "segment",
    )


def test_long_turn_is_split_into_verbatim_sentences_sharing_the_span() -> None:
    segment = Segment(id=4, speaker="Rep", start=10.0, end=20.0, text=LONG)
    units = sentiment_units(_call(segment), max_words=10)
    assert [u.sentence for u in units] == [1, 2, 3]
    assert units[1].text == "Right. I've issued a refund for the duplicate charge.", (
        "a fragment joins the next sentence"
    )
    assert all(u.text in LONG and u.segment.id == 4 for u in units)
    assert all(u.timing == "interpolated" for u in units)
    assert units[0].start == 10.0 and units[-1].end == pytest.approx(20.0)
    assert all(a.end == pytest.approx(b.start) for a, b in itertools.pairwise(units))
    assert [u.id for u in units] == [1, 2, 3]


def test_split_sentences_take_word_times_when_words_line_up() -> None:
    text = "That is not acceptable at all. I want to speak to a manager now please."
    words = [Word(text=w, start=i * 0.5, end=i * 0.5 + 0.4) for i, w in enumerate(text.split())]
    segment = Segment(id=1, speaker="C", start=0.0, end=8.0, text=text, words=words)
    first, second = sentiment_units(_call(segment), max_words=5)
    assert first.timing == second.timing == "words"
    assert (first.start, first.end) == (0.0, words[5].end)
    assert (second.start, second.end) == (words[6].start, words[-1].end)


def test_untimed_turns_get_no_times() -> None:
    units = sentiment_units(_call(Segment(id=1, speaker="A", text=LONG)), max_words=10)
    assert len(units) == 3 and all(u.start is None and u.end is None and u.timing is None for u in units)


def test_a_long_turn_that_is_one_sentence_stays_whole() -> None:
    text = " ".join(["word"] * 40) + "."
    (unit,) = sentiment_units(_call(Segment(id=1, speaker="A", start=0, end=9, text=text)), max_words=10)
    assert unit.sentence is None and unit.text == text


@given(st.lists(st.integers(min_value=0, max_value=300), max_size=50))
def test_estimated_times_are_back_to_back_at_the_speaking_rate(counts: list[int]) -> None:
    spans = estimated_times(counts)
    assert len(spans) == len(counts)
    at = 0.0
    for (start, end), count in zip(spans, counts, strict=True):
        assert start == pytest.approx(at, abs=1e-2)
        assert end - start == pytest.approx(max(1, count) * SECONDS_PER_WORD, abs=1e-2)
        at = end


def test_an_unpunctuated_monologue_is_cut_into_even_verbatim_pieces() -> None:
    text = " ".join(f"word{i}" for i in range(130))
    units = sentiment_units(_call(Segment(id=1, speaker="A", start=0.0, end=52.0, text=text)), max_words=25)
    assert [len(u.text.split()) for u in units] == [44, 44, 42]
    assert " ".join(u.text for u in units) == text
