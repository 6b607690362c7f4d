"""A label probe (a linear readout of the model's hidden state at the label) deciding a role's label."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from llm_sentiment.analysis.analyzer import Analyzer
from llm_sentiment.analysis.questions import LABEL_ANSWER_START
from llm_sentiment.analysis.scoring import from_probe
from llm_sentiment.ask.calibration import Calibration, Thresholds
from llm_sentiment.errors import SlotsUnsupportedError
from llm_sentiment.llm.base import Probe
from llm_sentiment.llm.testing import FakeLLM
from llm_sentiment.roles.rules import assign_roles
from llm_sentiment.transcript.formats import load_transcript
from llm_sentiment.views.text import render_text
from tests.conftest import FIXTURES

NEUTRAL = {"positive": 0.2, "neutral": 0.7, "negative": 0.1}
PROBE = Probe(weights=[[1.0, 0.0, -1.0], [0.0, 1.0, 0.0]], bias=[0.0, 0.0, 0.0])


def _calibrated(prompts: Any, model: str) -> Any:
    prompts.calibration = Calibration(fitted_on="a test", models={}, probes={model: {"customer": PROBE}})
    return prompts


def _labels(llm: FakeLLM) -> FakeLLM:
    for _ in range(3):
        llm.enqueue({"label": "neutral", "confidence": 0.7}, label_probs=NEUTRAL)
    return llm


def test_a_probe_reads_a_distribution_over_its_labels_from_one_state() -> None:
    leaning = PROBE.distribution([2.0, 0.0], ["positive", "neutral", "negative"])
    assert max(leaning, key=lambda k: leaning[k]) == "positive"
    assert sum(leaning.values()) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="2-dim states into 3 labels, not 3-dim"):
        PROBE.distribution([1.0, 2.0, 3.0], ["positive", "neutral", "negative"])
    with pytest.raises(ValidationError, match="columns"):
        Probe(weights=[[1.0, 0.0], [0.0, 1.0]], bias=[0.0, 0.0, 0.0])


def test_a_probe_label_agrees_with_its_score_and_keeps_the_models_own_distribution() -> None:
    probed = {"positive": 0.1, "neutral": 0.3, "negative": 0.6}
    scored = from_probe(probed, NEUTRAL, Thresholds())  # type: ignore[arg-type]
    assert (scored.label, scored.score, scored.confidence, scored.source) == ("negative", -0.5, 0.6, "probe")
    assert scored.probabilities == NEUTRAL
    calm = from_probe({"positive": 0.3, "neutral": 0.4, "negative": 0.3}, None, Thresholds())
    assert calm.label == "neutral" and -0.33 < calm.score < 0.33


def test_a_calibration_names_probes_only_for_role_and_call_targets() -> None:
    with pytest.raises(ValidationError, match="unknown targets for a probe"):
        Calibration(fitted_on="x", models={}, probes={"m": {"segment": PROBE}})
    calibration = Calibration(fitted_on="x", models={}, probes={"m": {"customer": PROBE}})
    assert calibration.probe("m", "customer") == PROBE and calibration.probe("m", "agent") is None


def test_the_probe_decides_the_customer_label_after_the_label_question(prompts: Any, settings: Any) -> None:
    call = assign_roles(load_transcript(FIXTURES / "negative.txt"))
    llm = _labels(FakeLLM(model="fake")).enqueue_slots([{"positive": 0.05, "neutral": 0.15, "negative": 0.8}])
    result = Analyzer(llm, _calibrated(prompts, "fake"), settings.analysis_options("fake")).analyze(
        call, parts=(), explain=False
    )
    customer = result.roles.customer
    assert (customer.label, customer.confidence, customer.confidence_source) == ("negative", 0.8, "probe")
    assert result.roles.agent.confidence_source == "logprobs", "no probe for the agent: its answer decides"
    (request,) = llm.slot_requests
    assert request.probe == PROBE and request.lines == [LABEL_ANSWER_START]
    assert request.messages == llm.requests[0].messages, "read at the label question's own prompt"
    assert [p.question_id for p in result.provenance][:2] == ["customer_sentiment", "customer_sentiment_probe"]


def test_without_a_readable_probe_the_label_answer_decides_and_says_why(prompts: Any, settings: Any) -> None:
    call = assign_roles(load_transcript(FIXTURES / "negative.txt"))
    llm = _labels(FakeLLM(model="fake")).enqueue_slots(SlotsUnsupportedError("no chat template"))
    result = Analyzer(llm, _calibrated(prompts, "fake"), settings.analysis_options("fake")).analyze(
        call, parts=(), explain=False
    )
    assert result.roles.customer.confidence_source == "logprobs"
    assert [w.code for w in result.warnings] == ["labels.no_probe"]
    other = _labels(FakeLLM(model="fake"))  # a model without slots is never asked for one
    Analyzer(other, _calibrated(prompts, "fake"), settings.analysis_options("fake")).analyze(
        call, parts=(), explain=False
    )
    assert other.slot_requests == []


STATUS_PROBE = Probe(weights=[[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], bias=[0.0, 0.0, 0.0])
PARTIAL = {"resolved": 0.2, "partial": 0.7, "unresolved": 0.1}


def _summary_answers(
    llm: FakeLLM,
    status: str,
    reason: str = "An investigation is open; the parcel is not here.",
    *,
    reason_supported: bool = True,
) -> FakeLLM:
    """The summary part after the role questions: summary, resolution, support check, recommendations."""
    for quote in ("2", "5", "6"):
        llm.enqueue({"quotes": [quote], "reasoning": "Angry about a late parcel."})
    llm.enqueue({"summary": "The caller's parcel is a week late. The agent opened an investigation.", "quotes": ["2"]})
    llm.enqueue({"resolution": status, "quote": "5", "reasoning": reason})
    yes, no = {"supported": True, "line": "5"}, {"supported": False, "line": "none"}
    llm.enqueue({"S1": yes, "S2": yes, "R": yes if reason_supported else no})
    return llm.enqueue({"recommendations": [{"type": "escalation", "recommendation": "Call back.", "quote": "6"}]})


def test_the_resolution_probe_reads_the_customer_slot_and_the_answer_gives_its_evidence(
    prompts: Any, settings: Any
) -> None:
    call = assign_roles(load_transcript(FIXTURES / "negative.txt"))
    prompts.calibration = Calibration(
        fitted_on="a test", models={}, probes={"fake": {"customer": PROBE, "resolution": STATUS_PROBE}}
    )
    llm = _labels(FakeLLM(model="fake")).enqueue_slots([{"positive": 0.05, "neutral": 0.15, "negative": 0.8}])
    _summary_answers(llm.enqueue_slots([PARTIAL]), "partial")
    result = Analyzer(llm, prompts, settings.analysis_options("fake")).analyze(call, parts=("summary",))
    assert llm.pending == 0
    customer, status = llm.slot_requests
    assert status.probe == STATUS_PROBE and status.labels == ["resolved", "partial", "unresolved"]
    assert status.messages == customer.messages == llm.requests[0].messages, "the customer's label slot, read again"
    ids = [p.question_id for p in result.provenance]
    assert ids[:3] == ["customer_sentiment", "customer_sentiment_probe", "resolution_probe"]
    resolution = result.resolution
    assert (resolution.status, resolution.status_source, resolution.probabilities) == ("partial", "probe", PARTIAL)
    asked = next(r for r in llm.requests if r.json_schema and "resolution" in r.json_schema["properties"])
    assert asked.json_schema is not None and asked.json_schema["properties"]["resolution"]["enum"] == ["partial"]
    assert "already judged from the customer's lines: partial" in asked.messages[-1].content
    summarised = next(r for r in llm.requests if r.json_schema and "summary" in r.json_schema["properties"])
    told = "issue stands at the end was already judged: partial (something was done or promised"
    assert told in summarised.messages[-1].content, "the summary is told the status, so it cannot call it resolved"
    assert "\nResolution: partial (probe 0.70) - An investigation is open" in render_text(result)


def test_without_the_summary_part_or_a_status_probe_no_status_is_read(prompts: Any, settings: Any) -> None:
    call = assign_roles(load_transcript(FIXTURES / "negative.txt"))
    prompts.calibration = Calibration(
        fitted_on="a test", models={}, probes={"fake": {"customer": PROBE, "resolution": STATUS_PROBE}}
    )
    llm = _labels(FakeLLM(model="fake")).enqueue_slots([NEUTRAL])
    Analyzer(llm, prompts, settings.analysis_options("fake")).analyze(call, parts=(), explain=False)
    assert len(llm.slot_requests) == 1, "labels only: the status is not read"
    failed = _labels(FakeLLM(model="fake")).enqueue_slots([NEUTRAL]).enqueue_slots(SlotsUnsupportedError("no GGUF"))
    _summary_answers(failed, "unresolved")
    result = Analyzer(failed, prompts, settings.analysis_options("fake")).analyze(call, parts=("summary",))
    assert (result.resolution.status, result.resolution.status_source) == ("unresolved", "answer")
    assert result.resolution.probabilities is None
    assert [w.code for w in result.warnings] == ["resolution.no_probe"]


def test_an_unsupported_reason_leaves_a_probed_status_standing_without_its_reason(prompts: Any, settings: Any) -> None:
    call = assign_roles(load_transcript(FIXTURES / "negative.txt"))
    prompts.calibration = Calibration(fitted_on="a test", models={}, probes={"fake": {"resolution": STATUS_PROBE}})
    llm = _labels(FakeLLM(model="fake")).enqueue_slots([PARTIAL])
    _summary_answers(llm, "partial", "The parcel will come tomorrow.", reason_supported=False)
    result = Analyzer(llm, prompts, settings.analysis_options("fake")).analyze(call, parts=("summary",))
    resolution = result.resolution
    assert (resolution.status, resolution.reasoning, resolution.quotes) == ("partial", "", []), "no reason, no quote"
    (warning,) = result.warnings
    assert warning.code == "resolution.unsupported" and "the status is the probe's" in warning.message
