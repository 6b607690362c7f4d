"""Pipeline logic with the scripted FakeLLM: parsing, re-asks, grounding, scoring, provenance."""

from __future__ import annotations

import re
from typing import Any

import pytest

from llm_sentiment.analysis.analyzer import Analyzer
from llm_sentiment.ask.answers import UserQuestion, evidence_schema
from llm_sentiment.errors import InvalidAnswerError
from llm_sentiment.llm.testing import FakeLLM
from llm_sentiment.roles.rules import assign_roles
from llm_sentiment.transcript.formats import load_transcript
from llm_sentiment.transcript.text import split_sentences
from tests.conftest import FIXTURES

ROLES_ONLY: tuple[Any, ...] = ()
"""These tests are about the role questions; per-segment sentiment and the summary have their own."""

NEGATIVE = {"positive": 0.02, "neutral": 0.08, "negative": 0.9}
NEUTRAL = {"positive": 0.2, "neutral": 0.7, "negative": 0.1}


@pytest.fixture
def call() -> Any:
    return assign_roles(load_transcript(FIXTURES / "negative.txt"))


def _queue_clean_run(llm: FakeLLM) -> FakeLLM:
    """Labels first (customer, agent, overall), then the evidence for each (quotes by line id)."""
    llm.enqueue({"label": "negative", "confidence": 0.9}, label_probs=NEGATIVE)
    llm.enqueue({"label": "neutral", "confidence": 0.7}, label_probs=NEUTRAL)
    llm.enqueue({"label": "negative", "confidence": 0.8}, label_probs=NEGATIVE)
    llm.enqueue({"quotes": ["2"], "reasoning": "The caller is angry about a late parcel."})
    llm.enqueue({"quotes": ["5"], "reasoning": "Polite and procedural."})
    llm.enqueue({"quotes": ["4"], "reasoning": "The call ends with the caller leaving."})
    return llm


def test_full_analysis(call: Any, prompts: Any, settings: Any) -> None:
    llm = _queue_clean_run(FakeLLM())
    result = Analyzer(llm, prompts, settings.analysis_options("fake")).analyze(call, parts=ROLES_ONLY)
    customer = result.roles.customer
    assert (customer.label, customer.score, customer.confidence, customer.confidence_source) == (
        "negative",
        -0.88,
        0.9,
        "logprobs",
    )
    assert customer.quotes[0].text == call.segments[1].text and customer.quotes[0].role == "customer"
    assert customer.quotes[0].segment_id == 2 and customer.quotes[0].speaker == "Caller"
    assert result.roles.agent.label == "neutral" and result.roles.agent.quotes[0].role == "agent"
    assert result.overall.label == "negative"
    assert [p.question_id for p in result.provenance] == [
        "customer_sentiment",
        "agent_sentiment",
        "overall_sentiment",
        "customer_evidence",
        "agent_evidence",
        "overall_evidence",
    ]
    assert all(p.model_used == "fake" and p.asks == 1 and not p.cache_hit for p in result.provenance)
    assert result.warnings == []
    assert llm.pending == 0
    label_request = llm.requests[0]
    assert label_request.top_logprobs > 0 and label_request.json_schema is not None
    evidence_schema = llm.requests[3].json_schema
    assert evidence_schema is not None
    allowed = evidence_schema["properties"]["quotes"]["items"]["enum"]
    assert allowed == ["2", "4", "6"], "quotes are ids of the role's own lines, never their text"


def test_without_logprobs_the_models_confidence_is_used(call: Any, prompts: Any, settings: Any) -> None:
    llm = FakeLLM()
    llm.enqueue({"label": "negative", "confidence": 0.5})
    for _ in range(2):
        llm.enqueue({"label": "neutral", "confidence": 0.6})
    llm.enqueue({"quotes": ["This is unacceptable."], "reasoning": "Angry."})
    for _ in range(2):
        llm.enqueue({"quotes": ["I've opened an investigation."], "reasoning": "Calm."})
    result = Analyzer(llm, prompts, settings.analysis_options()).analyze(call, parts=ROLES_ONLY)
    customer = result.roles.customer
    assert customer.confidence_source == "model" and customer.confidence == 0.5
    assert customer.score <= -0.33 and customer.probabilities is None


def test_invalid_answer_is_reasked_then_accepted(call: Any, prompts: Any, settings: Any) -> None:
    llm = FakeLLM()
    llm.enqueue("not json at all").enqueue({"label": "furious", "confidence": 2})
    _queue_clean_run(llm)
    result = Analyzer(llm, prompts, settings.analysis_options()).analyze(call, parts=ROLES_ONLY)
    assert result.provenance[0].asks == 3
    reask = llm.requests[2].messages
    assert reask[-2].role == "assistant" and reask[-1].role == "user" and "rejected" in reask[-1].content
    assert reask[0] == llm.requests[0].messages[0], "a re-ask keeps the shared prefix"


def test_invalid_answer_after_all_reasks_is_an_error(call: Any, prompts: Any, settings: Any) -> None:
    llm = FakeLLM()
    for _ in range(settings.max_reasks + 1):
        llm.enqueue('{"label": "positive"}')
    with pytest.raises(InvalidAnswerError) as info:
        Analyzer(llm, prompts, settings.analysis_options()).analyze(call, parts=ROLES_ONLY)
    assert info.value.code == "llm.invalid_answer" and "3 tries" in info.value.message


def test_ungrounded_quote_is_reasked_then_dropped_with_a_warning(call: Any, prompts: Any, settings: Any) -> None:
    llm = FakeLLM()
    llm.enqueue({"label": "negative", "confidence": 0.9}, label_probs=NEGATIVE)
    llm.enqueue({"label": "neutral", "confidence": 0.7}, label_probs=NEUTRAL)
    llm.enqueue({"label": "negative", "confidence": 0.8}, label_probs=NEGATIVE)
    invented = {"quotes": ["I hate this company so much.", "This is unacceptable."], "reasoning": "Angry."}
    for _ in range(settings.max_reasks + 1):
        llm.enqueue(invented)
    llm.enqueue({"quotes": ["This is unacceptable."], "reasoning": "Wrong role: the agent never said it."})
    llm.enqueue({"quotes": ["I've opened an investigation."], "reasoning": "Procedural."})
    llm.enqueue({"quotes": ["Nobody ever calls me back."], "reasoning": "Ends badly."})
    result = Analyzer(llm, prompts, settings.analysis_options()).analyze(call, parts=ROLES_ONLY)
    assert [q.text for q in result.roles.customer.quotes] == ["This is unacceptable."]
    assert result.provenance[3].asks == 3
    assert "I hate this company" in llm.requests[5].messages[-1].content
    assert [w.code for w in result.warnings] == ["quote.ungrounded"]
    assert result.roles.agent.quotes[0].text == "I've opened an investigation.", (
        "a quote of the wrong role was re-asked"
    )
    all_quotes = [q for s in (result.roles.customer, result.roles.agent, result.overall) for q in s.quotes]
    assert all(q.text in call.segments[q.segment_id - 1].text for q in all_quotes)


def test_reasoning_longer_than_two_sentences_is_reasked_then_cut_with_a_warning(
    call: Any, prompts: Any, settings: Any
) -> None:
    llm = FakeLLM()
    llm.enqueue({"label": "negative", "confidence": 0.9}, label_probs=NEGATIVE)
    llm.enqueue({"label": "neutral", "confidence": 0.7}, label_probs=NEUTRAL)
    llm.enqueue({"label": "negative", "confidence": 0.8}, label_probs=NEGATIVE)
    rambling = "The caller is angry. The parcel is late. Nobody called back. It ends badly."
    llm.enqueue({"quotes": ["This is unacceptable."], "reasoning": rambling})
    llm.enqueue({"quotes": ["This is unacceptable."], "reasoning": "The caller is angry about a late parcel."})
    for _ in range(settings.max_reasks + 1):
        llm.enqueue({"quotes": ["I've opened an investigation."], "reasoning": rambling})
    llm.enqueue({"quotes": ["Nobody ever calls me back."], "reasoning": "Ends badly."})
    result = Analyzer(llm, prompts, settings.analysis_options()).analyze(call, parts=ROLES_ONLY)
    assert result.roles.customer.reasoning == "The caller is angry about a late parcel."
    assert result.provenance[3].asks == 2 and "the reasoning has 4 sentences" in llm.requests[4].messages[-1].content
    assert result.roles.agent.reasoning == "The caller is angry. The parcel is late."
    assert [(w.code, w.question_id) for w in result.warnings] == [("reasoning.length", "agent_evidence")]


@pytest.mark.parametrize(
    ("reasoning", "allowed"),
    [
        ("The customer thanks the agent.", True),
        ("The customer is calm. They only ask for a copy!", True),
        ("One. Two. Three.", False),
        ("It ends without punctuation", False),
        ('It quotes "words" raw.', False),  # a raw quote would end the JSON string
        ("A line\nbreak.", False),
    ],
)
def test_the_evidence_grammar_allows_one_or_two_sentences(reasoning: str, allowed: bool) -> None:
    pattern = evidence_schema(["a quote"], 3)["properties"]["reasoning"]["pattern"]
    assert bool(re.match(pattern, reasoning)) is allowed
    if allowed:
        assert 1 <= len(split_sentences(reasoning)) <= 2


def test_custom_questions_get_a_grounded_quote(call: Any, prompts: Any, settings: Any) -> None:
    llm = _queue_clean_run(FakeLLM())
    llm.enqueue(
        {
            "answer": "Yes, the caller threatens to leave.",
            "quote": "I'm done with your company, I want a full refund and I'm never ordering from you again.",
        }
    )
    question = UserQuestion(id="churn", question="Is the customer at risk of churning?", answer_format="<yes/no> <why>")
    result = Analyzer(llm, prompts, settings.analysis_options()).analyze(call, [question], parts=ROLES_ONLY)
    answer = result.answers[0]
    assert answer.id == "churn" and answer.answer.startswith("Yes")
    assert answer.quotes[0].segment_id == 6 and answer.quotes[0].role == "customer"
    rendered = llm.requests[-1].messages[-1].content
    assert "Is the customer at risk of churning?" in rendered and "<yes/no> <why>" in rendered


def test_progress_reports_each_question(call: Any, prompts: Any, settings: Any) -> None:
    seen: list[str] = []
    Analyzer(_queue_clean_run(FakeLLM()), prompts, settings.analysis_options()).analyze(
        call, progress=seen.append, parts=ROLES_ONLY
    )
    assert len(seen) == 6 and seen[0] == "customer_sentiment"
