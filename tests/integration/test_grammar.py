"""Grammars from schemas: escaped for GBNF, parsed by llama.cpp before use, and a fallback when they cannot be."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llm_sentiment.ask.answers import LabelAnswer
from llm_sentiment.ask.asking import ANY_JSON_OBJECT, Provenance, ask
from llm_sentiment.errors import InvalidGrammarError
from llm_sentiment.llm.base import ChatMessage
from llm_sentiment.llm.grammar import GrammarChecker, gbnf_literal, to_gbnf
from llm_sentiment.llm.testing import FakeLLM

QUOTED = {"type": "object", "properties": {"q": {"type": "string", "enum": ['The box says "waterproof".']}}}


@pytest.fixture(scope="module")
def checker(vocab: Any) -> GrammarChecker:
    return GrammarChecker(vocab)


def test_the_stock_converters_grammar_is_rejected_by_the_check_instead_of_crashing(checker: GrammarChecker) -> None:
    """llama-cpp-python 0.3.36's own converter leaves the backslash of ``\\"`` unescaped: llama.cpp cannot parse the
    result, and sampling with it dereferenced NULL (the segfault a quoted word in a transcript caused)."""
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    with pytest.raises(InvalidGrammarError) as rejected:
        checker.check(json_schema_to_gbnf(json.dumps(QUOTED)))
    assert rejected.value.code == "llm.grammar"
    assert rejected.value.details["fragment"].startswith("expecting"), "llama.cpp's own reason, cut short"
    assert len(rejected.value.details["fragment"]) <= 80


def test_our_grammar_for_the_same_schema_parses_and_forces_valid_json(checker: GrammarChecker) -> None:
    gbnf = to_gbnf(QUOTED)
    checker.check(gbnf)
    assert checker.accepts(gbnf, json.dumps({"q": 'The box says "waterproof".'}))
    assert not checker.accepts(gbnf, '{"q": "The box says \\"waterproof\\"."')  # unfinished
    assert not checker.accepts(gbnf, '{"q": "anything else"}')


def test_a_schema_the_converter_cannot_handle_is_an_invalid_grammar_error() -> None:
    with pytest.raises(InvalidGrammarError) as rejected:
        to_gbnf({"type": "string", "pattern": r"^\p{L}+$"})
    assert "quantifier" in rejected.value.details["fragment"]


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=40))
def test_any_enum_text_is_a_literal_that_decodes_to_itself(checker: GrammarChecker, text: str) -> None:
    """Quotes, backslashes, control characters, NUL, emoji, combining marks, RTL: the only output the grammar
    allows is the JSON string that decodes back to the text."""
    schema = {"type": "object", "properties": {"v": {"type": "string", "enum": [text]}}, "required": ["v"]}
    gbnf = to_gbnf(schema)
    checker.check(gbnf)
    forced = json.dumps({"v": text})
    assert checker.accepts(gbnf, forced)
    assert json.loads(forced)["v"] == text


@given(st.text(max_size=30))
def test_gbnf_literals_escape_every_backslash_quote_and_control_character(text: str) -> None:
    body = gbnf_literal(text)[1:-1]
    assert all(ord(c) >= 0x20 and c != "\x7f" for c in body)
    unescaped = body.replace("\\\\", "").replace('\\"', "")
    assert '"' not in unescaped


def test_a_rejected_grammar_is_asked_again_as_any_json_object(caplog: pytest.LogCaptureFixture, prompts: Any) -> None:
    llm = FakeLLM()
    llm.enqueue(InvalidGrammarError("llama.cpp cannot parse the answer's grammar", fragment="expecting name at x"))
    llm.enqueue({"label": "negative", "confidence": 0.8})
    with caplog.at_level(logging.WARNING, logger="llm_sentiment.ask.asking"):
        answered = ask(
            llm,
            model="fake",
            question_id="customer_sentiment",
            template=prompts["customer_sentiment"],
            messages=[ChatMessage(role="user", content="label?")],
            output=LabelAnswer,
            schema={"type": "object", "properties": {"label": {"enum": ["positive", "neutral", "negative"]}}},
            max_tokens=20,
            max_reasks=1,
        )
    assert answered.value.label == "negative" and isinstance(answered.provenance, Provenance)
    assert llm.requests[1].json_schema == ANY_JSON_OBJECT, "the second ask carries no grammar from the schema"
    assert "customer_sentiment" in caplog.text and "expecting name at x" in caplog.text
