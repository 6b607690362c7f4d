"""The embedded model, for real, on a call full of what once crashed it: double quotes, backslashes, emoji and
non-Latin script. Every question is asked and every quote is the transcript's own words."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from llm_sentiment.analysis.analyzer import Analyzer
from llm_sentiment.ask.answers import NotesAnswer, UserQuestion
from llm_sentiment.ask.asking import ask
from llm_sentiment.ask.prompts import PromptSet
from llm_sentiment.llm.base import ChatMessage
from llm_sentiment.llm.fallback import FallbackLLM
from llm_sentiment.roles.rules import assign_roles
from llm_sentiment.settings import Settings
from llm_sentiment.transcript.formats import parse_transcript
from llm_sentiment.wiring import build_router

pytestmark = pytest.mark.real_model

MODEL = "local/qwen2.5-coder-0.5b"
HOSTILE = """\
Agent: Thank you for calling "Acme Support" \u2014 how can I help? \U0001f642
Customer: The box says "waterproof" but it broke in the rain. The log says C:\\temp\\new and \\"error\\"!
Agent: I'm so sorry \U0001f614. Let me check order #42 \\ ref "A-7".
Customer: Danke sch\u00f6n\u2026 \u4e2d\u6587\u4e5f\u53ef\u4ee5\u5417\uff1f \u05e9\u05dc\u05d5\u05dd. \
Honestly I'm fed up \U0001f621 with this.
Agent: I've sent a replacement, it arrives Monday.
Customer: OK\u2026 thanks, I guess \U0001f44d
"""


@pytest.fixture(scope="module")
def router() -> Iterator[FallbackLLM]:
    settings = Settings(model=MODEL, cache=False)
    client = build_router(settings)
    yield client
    for hosted in client.local._models.values():
        hosted.close()


def test_a_hostile_call_is_analyzed_end_to_end_with_every_quote_grounded(router: FallbackLLM) -> None:
    settings = Settings(model=MODEL, cache=False)
    call = assign_roles(parse_transcript(HOSTILE.encode()))
    analyzer = Analyzer(router, PromptSet(settings.prompts_dir, settings.prompts_version), settings.analysis_options())
    question = UserQuestion(id="q1", question='What did the customer say about "waterproof"?')
    result = analyzer.analyze(call, [question])
    asked = {p.question_id for p in result.provenance}
    expected = {
        "customer_sentiment", "agent_sentiment", "overall_sentiment", "customer_evidence", "agent_evidence",
        "overall_evidence", "segment_sentiment", "summary", "resolution", "recommendations", "q1",
    }  # fmt: skip
    assert expected <= asked, f"not asked: {expected - asked}"
    quotes: list[Any] = [
        *result.roles.customer.quotes,
        *result.roles.agent.quotes,
        *result.overall.quotes,
        *(q for a in result.answers for q in a.quotes),
        *(result.summary.quotes if result.summary else []),
        *(result.resolution.quotes if result.resolution else []),
        *(q for r in result.recommendations for q in r.quotes),
    ]
    assert quotes, "the answers quote the call"
    for quote in quotes:
        assert quote.text in call.segments[quote.segment_id - 1].text, quote
    assert all(q.role == "customer" for q in result.roles.customer.quotes)
    assert not [w for w in result.warnings if w.code == "quote.ungrounded"]
    assert {s.segment_id for s in result.segments} == {s.id for s in call.segments}
    print("\n" + "\n".join(f"{q.segment_id}: {q.text}" for q in quotes))


def test_a_schema_without_a_grammar_is_asked_unconstrained_and_validated(
    router: FallbackLLM, caplog: pytest.LogCaptureFixture
) -> None:
    """The grammar is built in the model's process; its failure crosses LiteLLM as itself, and the asker falls back."""
    settings = Settings(model=MODEL)
    prompts = PromptSet(settings.prompts_dir, settings.prompts_version)
    schema = {
        "type": "object",
        "properties": {"notes": {"type": "string", "pattern": r"^\p{L}[\p{L} ,.]*$"}},
        "required": ["notes"],
    }
    with caplog.at_level(logging.WARNING, logger="llm_sentiment.ask.asking"):
        answered = ask(
            router,
            model=MODEL,
            question_id="window_notes",
            template=prompts["window_notes"],
            messages=[ChatMessage(role="user", content='In one sentence: what is a refund? Answer {"notes": "..."}')],
            output=NotesAnswer,
            schema=schema,
            max_tokens=80,
            max_reasks=2,
        )
    assert answered.value.notes.strip()
    assert "window_notes" in caplog.text and "asking without the answer's grammar" in caplog.text


def test_closing_a_model_ends_its_process(router: FallbackLLM) -> None:
    router.preload(MODEL)
    hosted = next(iter(router.local._models.values()))
    pid = hosted.pid
    assert pid is not None
    hosted.close()
    assert hosted.pid is None
