from __future__ import annotations

from llm_sentiment.analysis.grounding import ground_quote, normalise, quotable_sentences, split_sentences
from llm_sentiment.transcript.model import Segment

SEGMENTS = [
    Segment(id=1, speaker="Rep", role="agent", start=0.0, end=3.0, text="Thank you for calling. How can I help?"),
    Segment(
        id=2,
        speaker="Caller",
        role="customer",
        start=3.5,
        end=9.0,
        text="I’m really fed up — this is the THIRD time I've called!  Nobody cares.",
    ),
]


def test_normalise_ignores_case_spacing_punctuation_and_apostrophes() -> None:
    assert normalise("  I’m   FED-up!! ") == normalise("im fed up") == "im fed up"


def test_quote_is_returned_as_the_transcripts_own_span() -> None:
    quote = ground_quote("this is the third time i've called", SEGMENTS)
    assert quote is not None
    assert quote.text == "this is the THIRD time I've called"
    assert (quote.segment_id, quote.start, quote.end, quote.speaker, quote.role) == (2, 3.5, 9.0, "Caller", "customer")


def test_paraphrase_is_not_grounded() -> None:
    assert ground_quote("this is the third time I have called", SEGMENTS) is None


def test_partial_words_do_not_match() -> None:
    assert ground_quote("ank you for call", SEGMENTS) is None


def test_role_restriction_is_the_callers_job() -> None:
    customer_only = [s for s in SEGMENTS if s.role == "customer"]
    assert ground_quote("How can I help?", customer_only) is None
    assert ground_quote("How can I help?", SEGMENTS) is not None


def test_single_word_quotes_are_too_weak() -> None:
    assert ground_quote("cares", SEGMENTS) is None


def test_sentences_for_constrained_quotes() -> None:
    assert split_sentences("Hi. How are you? Fine!") == ["Hi.", "How are you?", "Fine!"]
    assert quotable_sentences(SEGMENTS) == [
        "Thank you for calling.",
        "How can I help?",
        "I’m really fed up — this is the THIRD time I've called!",
        "Nobody cares.",
    ]
    assert all(ground_quote(s, SEGMENTS) is not None for s in quotable_sentences(SEGMENTS))
