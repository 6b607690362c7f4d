"""The whole analysis with the scripted FakeLLM: segments, timeline, summary, resolution, recommendations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llm_sentiment.analysis.analyzer import Analyzer
from llm_sentiment.llm.testing import FakeLLM
from llm_sentiment.settings import Settings
from llm_sentiment.transcript.units import sentiment_units
from llm_sentiment.wiring import load_call
from tests.conftest import FIXTURES

NEG = {"positive": 0.05, "neutral": 0.15, "negative": 0.8}
NEU = {"positive": 0.1, "neutral": 0.8, "negative": 0.1}
POS = {"positive": 0.85, "neutral": 0.1, "negative": 0.05}
BY_LABEL = {"negative": NEG, "neutral": NEU, "positive": POS}
LABELED = FIXTURES / "labeled" / "internet_outage.json"


def expected_labels(call: Any) -> dict[str, str]:
    """The batch answer, keyed as the question keys it: a split turn's sentences share its label."""
    doc = json.loads(LABELED.read_text())
    return {u.key: doc["segments"][u.segment.id - 1]["expected"] for u in sentiment_units(call, 25)}


def queue_labels(llm: FakeLLM) -> None:
    """Customer, agent and call labels: asked first, before any question that shares the transcript prefix."""
    llm.enqueue({"label": "positive", "confidence": 0.8}, label_probs=POS)
    llm.enqueue({"label": "positive", "confidence": 0.7}, label_probs=POS)
    llm.enqueue({"label": "positive", "confidence": 0.7}, label_probs=POS)


def queue_evidence(llm: FakeLLM) -> None:
    llm.enqueue({"quotes": ["Thanks so much, have a great day!"], "reasoning": "Relieved at the end."})
    llm.enqueue({"quotes": ["I'm glad I could help."], "reasoning": "Warm and helpful."})
    llm.enqueue({"quotes": ["It's green!"], "reasoning": "Fixed."})


@pytest.fixture
def call() -> Any:
    return load_call(LABELED)


def test_everything_from_one_analysis(call: Any, prompts: Any, tmp_path: Path) -> None:
    settings = Settings(cache_path=tmp_path / "cache", segment_batch_size=24)
    labels = expected_labels(call)
    assert "7.2" in labels, "segment 7 is a long turn, scored sentence by sentence"
    llm = FakeLLM()
    queue_labels(llm)
    llm.enqueue(labels, key_probs={k: BY_LABEL[v] for k, v in labels.items()})
    queue_evidence(llm)
    llm.enqueue({"summary": "Too short.", "quotes": ["It's green!"]})
    summary = (
        "The customer's internet had been down for three days. The agent reset the modem and credited the account. "
        "The customer ended the call relieved."
    )
    llm.enqueue({"summary": summary, "quotes": ["It's green!", "Oh, thank goodness, that's such a relief."]})
    llm.enqueue({"resolution": "resolved", "quote": "And my laptop just connected.", "reasoning": "Back online."})
    lines = {"S1": "2", "S2": "9", "S3": "12", "R": "12"}  # each summary sentence and the reason, shown by a line
    llm.enqueue({key: {"supported": True, "line": line} for key, line in lines.items()})
    stay = "I'm going to stay on the line with you until this is sorted."
    recommendations = {
        "recommendations": [
            {"type": "praise", "recommendation": "Share how Marcus owned the problem.", "quote": stay},
            {"type": "follow_up", "recommendation": "Check the credit was applied.", "quote": "A credit was promised."},
        ]
    }
    for _ in range(settings.max_reasks + 1):  # the invented evidence is re-asked, then dropped
        llm.enqueue(recommendations)
    result = Analyzer(llm, prompts, settings.analysis_options()).analyze(call)
    assert llm.pending == 0

    assert [s.label for s in result.segments] == list(labels.values())
    assert result.segments[1].role == "customer" and result.segments[1].score == -0.75

    timeline = result.timeline
    assert timeline is not None and timeline.time_basis == "measured" and timeline.duration == 162.0
    trend = timeline.customer.trend
    assert trend is not None and trend.direction == "improving"
    assert trend.turning_point is not None and trend.turning_point.segment_id == 12, trend
    assert trend.turning_point.quote.text.startswith("It's green!")
    assert [m.minute for m in timeline.minutes] == [0, 1, 2]

    assert result.summary is not None and result.summary.text == summary
    assert [q.text for q in result.summary.quotes] == ["It's green!", "Oh, thank goodness, that's such a relief."]
    assert "2 to 4" in llm.requests[8].messages[-1].content, "a one-sentence summary is re-asked"
    assert result.resolution is not None and result.resolution.status == "resolved"
    assert result.resolution.quotes[0].segment_id == 12
    (kept,) = result.recommendations
    assert kept.type == "praise" and kept.quotes[0].segment_id == 7 and kept.quotes[0].role == "agent"
    assert [w.code for w in result.warnings] == ["quote.ungrounded"], "the invented evidence is dropped"

    findings = llm.requests[-3].messages[-1].content
    assert "customer sentiment" in findings and "improving" in findings and "turned at [12]" in findings
    assert "interruptions" in findings

    assert set(result.timings) == {"segments", "roles", "summary"}
    ids = [p.question_id for p in result.provenance]
    assert ids[:4] == ["customer_sentiment", "agent_sentiment", "overall_sentiment", "segment_sentiment"]
    assert ids[-4:] == ["summary", "resolution", "summary_support", "recommendations"]
    assert result.provenance[3].segment_ids == list(range(1, 17))
    assert [s.sentence for s in result.segments if s.segment_id == 7] == [1, 2]
    assert len({r.messages[0].content for r in llm.requests[3:]}) == 1, "after the labels, one shared prefix"


def test_parts_can_be_skipped(call: Any, prompts: Any, settings: Any) -> None:
    llm = FakeLLM()
    queue_labels(llm)
    queue_evidence(llm)
    result = Analyzer(llm, prompts, settings.analysis_options()).analyze(call, parts=())
    assert result.segments == [] and result.timeline is None and result.summary is None
    assert result.recommendations == [] and llm.pending == 0


def test_untimed_transcripts_get_an_estimated_timeline_and_a_warning(prompts: Any, settings: Any) -> None:
    call = load_call(FIXTURES / "negative.txt")
    llm = FakeLLM()
    labels = {str(i): "negative" for i in range(1, 7)}
    for _ in range(3):
        llm.enqueue({"label": "negative", "confidence": 0.8}, label_probs=NEG)
    llm.enqueue(labels, key_probs=dict.fromkeys(labels, NEG))
    for quote in ("Nobody ever calls me back.", "I've opened an investigation.", "This is unacceptable."):
        llm.enqueue({"quotes": [quote], "reasoning": "Angry."})
    result = Analyzer(llm, prompts, settings.analysis_options()).analyze(call, parts=("segments",))
    assert all(s.start is None and s.timing is None for s in result.segments), "no invented times on segments"
    assert result.timeline is not None and result.timeline.time_basis == "estimated"
    assert "timing.estimated" in [w.code for w in result.warnings]
