"""Every summary sentence and the resolution's reason are checked against the transcript (the scripted FakeLLM)."""

from __future__ import annotations

from typing import Any

import pytest

from llm_sentiment.analysis.analyzer import Analyzer
from llm_sentiment.analysis.faithfulness import Claim, contradicting, sentence_claims, unsupported
from llm_sentiment.analysis.grounding import quote_menu
from llm_sentiment.analysis.questions import SUMMARY_QUESTIONS, SUPPORT, support_problem
from llm_sentiment.ask.answers import SupportAnswer
from llm_sentiment.llm.testing import FakeLLM
from llm_sentiment.roles.rules import assign_roles
from llm_sentiment.transcript.formats import load_transcript
from llm_sentiment.transcript.units import sentiment_units
from llm_sentiment.views.text import render_text
from tests.conftest import FIXTURES

NEGATIVE = {"positive": 0.02, "neutral": 0.08, "negative": 0.9}
SUMMARY_ONLY = ("summary",)

LATE = "The caller's parcel is a week late."
PROBE = "The agent opened an investigation."
INVENTED = "The caller was satisfied and agreed to order again."
ENDS = "The caller asks for a full refund."
RESOLVED = {
    "resolution": "unresolved",
    "quote": "6",
    "reasoning": "The caller wants a refund and will not order again.",
}
RECOMMEND = {"recommendations": [{"type": "escalation", "recommendation": "Call the caller back.", "quote": "6"}]}


def yes(line: str) -> dict[str, Any]:
    return {"supported": True, "line": line}


NO = {"supported": False, "line": "none"}


@pytest.fixture
def call() -> Any:
    return assign_roles(load_transcript(FIXTURES / "negative.txt"))


def roles(llm: FakeLLM) -> FakeLLM:
    """The role questions every analysis asks first: three labels, then their evidence."""
    for _ in range(3):
        llm.enqueue({"label": "negative", "confidence": 0.9}, label_probs=NEGATIVE)
    for quote in ("2", "5", "6"):
        llm.enqueue({"quotes": [quote], "reasoning": "Angry about a late parcel."})
    return llm


def summary(*sentences: str) -> dict[str, Any]:
    return {"summary": " ".join(sentences), "quotes": ["2"]}


def analyze(llm: FakeLLM, call: Any, prompts: Any, settings: Any, seen: list[str] | None = None) -> Any:
    analyzer = Analyzer(llm, prompts, settings.analysis_options())
    result = analyzer.analyze(call, parts=SUMMARY_ONLY, progress=seen.append if seen is not None else None)
    assert llm.pending == 0
    return result


def test_a_supported_summary_and_reason_pass_unchanged(call: Any, prompts: Any, settings: Any) -> None:
    llm = roles(FakeLLM())
    text = f"{LATE}  {PROBE}"  # the model's own spacing is kept when nothing is dropped
    llm.enqueue({"summary": text, "quotes": ["2", "5"]}).enqueue(RESOLVED)
    llm.enqueue({"S1": yes("2"), "S2": yes("[5]"), "R": yes("6")}).enqueue(RECOMMEND)
    seen: list[str] = []
    result = analyze(llm, call, prompts, settings, seen)

    assert result.summary.text == text and [q.segment_id for q in result.summary.quotes] == [2, 5]
    assert result.resolution.status == "unresolved" and result.resolution.reasoning == RESOLVED["reasoning"]
    assert result.warnings == []
    ids = [p.question_id for p in result.provenance]
    assert ids[-4:] == ["summary", "resolution", "summary_support", "recommendations"]
    assert len(seen) == len(ids) == Analyzer(llm, prompts, settings.analysis_options()).steps(call, [], SUMMARY_ONLY)

    check = llm.requests[8]
    assert check.messages[0] == llm.requests[6].messages[0], "the support check shares the transcript prefix"
    asked = check.messages[-1].content
    assert f"S1: {LATE}\nS2: {PROBE}\nR: {RESOLVED['reasoning']}" in asked
    schema = check.json_schema
    assert schema is not None and list(schema["properties"]) == ["S1", "S2", "R"]
    assert schema["additionalProperties"] is False
    lines = schema["properties"]["S1"]["properties"]["line"]["enum"]
    assert lines == ["1", "2", "3", "4", "5", "6", "none"], "line ids and none, never the transcript's words"


def test_an_unsupported_sentence_is_reasked_then_dropped_with_a_warning(call: Any, prompts: Any, settings: Any) -> None:
    llm = roles(FakeLLM())
    llm.enqueue(summary(LATE, INVENTED, PROBE)).enqueue(RESOLVED)
    llm.enqueue({"S1": yes("2"), "S2": NO, "S3": yes("5"), "R": yes("6")})
    llm.enqueue(summary(LATE, PROBE, INVENTED), completion_tokens=7)  # asked again: still there
    llm.enqueue({"S1": yes("2"), "S2": yes("5"), "S3": NO}, prompt_tokens=30)
    llm.enqueue(RECOMMEND)
    seen: list[str] = []
    result = analyze(llm, call, prompts, settings, seen)

    assert result.summary.text == f"{LATE} {PROBE}"
    assert INVENTED not in result.summary.text and result.summary.quotes[0].segment_id == 2
    (warning,) = result.warnings
    assert warning.code == "summary.unsupported" and warning.question_id == "summary"
    assert INVENTED in warning.message and "1 of 3" in warning.message

    again = llm.requests[9]
    assert again.messages[:2] == llm.requests[6].messages, "the same question, the shared prefix kept"
    assert again.messages[2].role == "assistant" and INVENTED in again.messages[2].content
    assert "rejected" in again.messages[3].content and INVENTED in again.messages[3].content
    assert LATE not in again.messages[3].content, "only the unsupported sentences are named"
    recheck = llm.requests[10].json_schema
    assert recheck is not None and list(recheck["properties"]) == ["S1", "S2", "S3"], "the reason is not re-checked"

    by_id = {p.question_id: p for p in result.provenance}
    assert [p.question_id for p in result.provenance][-4:] == [q.id for q in SUMMARY_QUESTIONS]
    assert by_id["summary"].asks == 2 and by_id["summary"].completion_tokens == 5 + 7
    assert by_id["summary_support"].asks == 2 and by_id["summary_support"].prompt_tokens == 10 + 30
    assert len(seen) == len(result.provenance), "asking again is no new step"


def test_a_reask_that_fixes_the_summary_replaces_it(call: Any, prompts: Any, settings: Any) -> None:
    llm = roles(FakeLLM())
    llm.enqueue(summary(LATE, INVENTED)).enqueue(RESOLVED)
    llm.enqueue({"S1": yes("2"), "S2": NO, "R": yes("6")})
    llm.enqueue(summary(LATE, ENDS)).enqueue({"S1": yes("2"), "S2": yes("6")})
    llm.enqueue(RECOMMEND)
    result = analyze(llm, call, prompts, settings)
    assert result.summary.text == f"{LATE} {ENDS}" and result.warnings == []


def test_a_worse_reask_keeps_the_first_answer_less_its_unsupported_sentences(
    call: Any, prompts: Any, settings: Any
) -> None:
    llm = roles(FakeLLM())
    llm.enqueue(summary(LATE, INVENTED, PROBE)).enqueue(RESOLVED)
    llm.enqueue({"S1": yes("2"), "S2": NO, "S3": yes("5"), "R": yes("6")})
    llm.enqueue(summary(INVENTED, ENDS)).enqueue({"S1": NO, "S2": yes("6")})
    llm.enqueue(RECOMMEND)
    result = analyze(llm, call, prompts, settings)
    assert result.summary.text == f"{LATE} {PROBE}", "two supported sentences beat one"
    assert [w.code for w in result.warnings] == ["summary.unsupported"]


def test_a_summary_with_no_supported_sentence_is_left_empty(call: Any, prompts: Any, settings: Any) -> None:
    llm = roles(FakeLLM())
    llm.enqueue(summary(INVENTED, "The agent refunded the caller.")).enqueue(RESOLVED)
    llm.enqueue({"S1": NO, "S2": {"supported": False, "line": "5"}, "R": yes("6")})
    llm.enqueue(summary(INVENTED, "Everyone was happy.")).enqueue({"S1": NO, "S2": NO})
    llm.enqueue(RECOMMEND)
    result = analyze(llm, call, prompts, settings)
    assert result.summary.text == "" and result.summary.quotes == [], "nothing left for the quotes to support"
    (warning,) = result.warnings
    assert "2 of 2" in warning.message and "left empty" in warning.message and "Everyone was happy." in warning.message
    assert "Summary:\n  (none supported by the transcript)\n" in render_text(result)


def test_an_unsupported_reason_makes_the_resolution_unclear(call: Any, prompts: Any, settings: Any) -> None:
    llm = roles(FakeLLM())
    llm.enqueue(summary(LATE, PROBE))
    llm.enqueue({"resolution": "resolved", "quote": "5", "reasoning": "The caller accepted the investigation."})
    llm.enqueue({"S1": yes("2"), "S2": yes("5"), "R": NO}).enqueue(RECOMMEND)
    result = analyze(llm, call, prompts, settings)
    resolution = result.resolution
    assert (resolution.status, resolution.reasoning, resolution.quotes) == ("unclear", "", [])
    (warning,) = result.warnings
    assert warning.code == "resolution.unsupported" and warning.question_id == "resolution"
    assert "'resolved'" in warning.message and "accepted the investigation" in warning.message
    assert "\nResolution: unclear\n" in render_text(result)
    assert result.summary.text == f"{LATE} {PROBE}"


def test_an_unclear_resolution_has_no_reason_to_check(call: Any, prompts: Any, settings: Any) -> None:
    llm = roles(FakeLLM())
    llm.enqueue(summary(LATE, PROBE))
    llm.enqueue({"resolution": "unclear", "quote": "6", "reasoning": "The call ends before anything is settled."})
    llm.enqueue({"S1": yes("2"), "S2": yes("5")}).enqueue(RECOMMEND)
    result = analyze(llm, call, prompts, settings)
    assert result.resolution.status == "unclear" and result.resolution.quotes[0].segment_id == 6
    schema = llm.requests[8].json_schema
    assert schema is not None and list(schema["properties"]) == ["S1", "S2"]


def test_a_support_answer_that_skips_a_statement_or_names_words_is_reasked(
    call: Any, prompts: Any, settings: Any
) -> None:
    llm = roles(FakeLLM())
    llm.enqueue(summary(LATE, PROBE)).enqueue(RESOLVED)
    llm.enqueue({"S1": yes("2"), "R": yes("6")})
    llm.enqueue({"S1": yes("2"), "S2": yes("I've opened an investigation."), "R": yes("6")})
    llm.enqueue({"S1": yes("2"), "S2": yes("5"), "R": yes("6")}).enqueue(RECOMMEND)
    result = analyze(llm, call, prompts, settings)
    assert "it has no entry for S2" in llm.requests[9].messages[-1].content
    assert "these are not line ids: S2:" in llm.requests[10].messages[-1].content
    assert result.summary.text == f"{LATE} {PROBE}" and result.warnings == []
    assert next(p for p in result.provenance if p.question_id == "summary_support").asks == 3


@pytest.mark.parametrize(
    ("verdict", "supported"),
    [
        (yes("5"), True),
        (yes("[5]"), True),
        (yes("99"), False),  # a line id that does not exist
        (yes("none"), False),  # "supported" by no line
        (yes("I've opened an investigation."), False),  # words, not an id
        ({"supported": False, "line": "5"}, False),
    ],
)
def test_a_sentence_is_supported_only_when_the_model_says_so_and_names_a_line_that_exists(
    call: Any, verdict: dict[str, Any], supported: bool
) -> None:
    menu = quote_menu(sentiment_units(call, 25))
    claims = sentence_claims(PROBE)
    answer = SupportAnswer.model_validate({"S1": verdict})
    assert unsupported(answer, claims, menu) == ([] if supported else list(claims))
    assert unsupported(SupportAnswer.model_validate({}), claims, menu) == list(claims), "no verdict, no support"


def test_a_support_answer_naming_no_line_is_an_answer_not_a_problem(call: Any) -> None:
    menu = quote_menu(sentiment_units(call, 25))
    keys = ["S1", "R"]
    assert support_problem(SupportAnswer.model_validate({"S1": NO, "R": yes("6")}), keys, menu) is None
    problem = support_problem(SupportAnswer.model_validate({"S1": yes("99"), "R": NO}), keys, menu)
    assert problem is not None and "S1: '99'" in problem


def test_sentences_are_numbered_in_order() -> None:
    assert sentence_claims(f" {LATE} {PROBE} ") == (Claim("S1", LATE), Claim("S2", PROBE))


def test_the_steps_count_the_support_question(call: Any, prompts: Any, settings: Any) -> None:
    analyzer = Analyzer(FakeLLM(), prompts, settings.analysis_options())
    assert SUPPORT in SUMMARY_QUESTIONS
    assert analyzer.steps(call, [], SUMMARY_ONLY) - analyzer.steps(call, [], ()) == 4


@pytest.mark.parametrize(
    ("sentence", "customer", "contradicts"),
    [
        ("The call ended with the customer expressing satisfaction with the refund.", "negative", True),
        ("The customer was satisfied with the refund.", "neutral", True),
        ("The customer was satisfied with the refund.", "positive", False),
        ("The customer was not satisfied and remained frustrated.", "negative", False),
        ("The customer was dissatisfied with being charged twice.", "negative", False),
        ("The customer was frustrated about the charge.", "positive", True),
        ("The agent was pleased to help the frustrated caller.", "negative", False),  # pleased: the agent's
        ("The agent issued a refund for the duplicate charge.", "negative", False),
        ("Everyone was happy in the end.", "negative", False),  # nobody named: the support question's call
    ],
)
def test_a_feeling_the_judged_label_rules_out_contradicts_it(sentence: str, customer: str, contradicts: bool) -> None:
    claim = Claim("S1", sentence)
    assert (contradicting([claim], {"customer": customer, "agent": "positive"}) == [claim]) is contradicts


def test_a_sentence_the_support_check_passes_but_a_judged_label_rules_out_is_reasked_then_dropped(
    call: Any, prompts: Any, settings: Any
) -> None:
    pleased = "The call ended with the caller expressing satisfaction."
    llm = roles(FakeLLM())  # the customer is judged negative
    llm.enqueue(summary(LATE, pleased)).enqueue(RESOLVED)
    llm.enqueue({"S1": yes("2"), "S2": yes("6"), "R": yes("6")})  # the support check is fooled
    llm.enqueue(summary(LATE, pleased)).enqueue({"S1": yes("2"), "S2": yes("6")})
    llm.enqueue(RECOMMEND)
    result = analyze(llm, call, prompts, settings)

    assert result.summary.text == LATE
    (warning,) = result.warnings
    assert warning.code == "summary.unsupported" and pleased in warning.message
    assert pleased in llm.requests[9].messages[3].content, "the re-ask names it"
    assert result.resolution.status == "unresolved", "a reason that gives nobody a feeling stands"
