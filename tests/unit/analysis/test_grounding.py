from __future__ import annotations

from llm_sentiment.analysis.grounding import ground_quote, quote_menu
from llm_sentiment.transcript.model import Segment, Transcript
from llm_sentiment.transcript.text import normalise, split_sentences
from llm_sentiment.transcript.units import sentiment_units

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


def test_sentences_split_at_their_ends() -> None:
    assert split_sentences("Hi. How are you? Fine!") == ["Hi.", "How are you?", "Fine!"]


def test_a_quote_menu_offers_a_roles_lines_by_id_and_maps_them_back() -> None:
    caller = SEGMENTS[1].model_copy(update={"text": "I’m really fed up with this. Nobody ever cares about me."})
    lines = sentiment_units(Transcript(segments=[SEGMENTS[0], caller]), max_words=5)
    menu = quote_menu(lines, "customer")
    assert menu.ids == ["2.1", "2.2"], "a long turn's sentences are lines of their own"
    quote = menu.resolve("2.1")
    assert quote is not None and quote.text == "I’m really fed up with this."
    assert (quote.segment_id, quote.speaker, quote.role) == (2, "Caller", "customer")
    assert menu.resolve("[2.2]") is not None, "an id in its brackets is the id"
    assert menu.resolve("nobody ever cares") is not None, "a provider without a grammar may copy the words"
    assert menu.unknown(["1", "How can I help?", "9"]) == ["1", "How can I help?", "9"], "the agent's lines are not"
