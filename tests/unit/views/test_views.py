"""The response views, read back with the vendors' own Python SDK types."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from assemblyai.types import SentimentType, TranscriptResponse, TranscriptStatus
from deepgram.types import ReadV1Response

from llm_sentiment.analysis.analyzer import Analyzer
from llm_sentiment.analysis.result import Analysis
from llm_sentiment.ask.prompts import PromptSet
from llm_sentiment.llm.testing import SchemaLLM
from llm_sentiment.settings import Settings
from llm_sentiment.views import vendors as views
from llm_sentiment.wiring import load_call
from tests.conftest import FIXTURES
from tests.unit import handmade


def _analysis(path: Path, tmp: Path, label: str = "negative", **overrides: Any) -> Analysis:
    settings = Settings(cache_path=tmp / "cache", **overrides)
    prompts = PromptSet(settings.prompts_dir, settings.prompts_version)
    return Analyzer(SchemaLLM(label), prompts, settings.analysis_options()).analyze(load_call(path))


@pytest.fixture
def timed(tmp_path: Path) -> Analysis:
    return _analysis(FIXTURES / "labeled" / "internet_outage.json", tmp_path, split_words=20)


@pytest.fixture
def untimed(tmp_path: Path) -> Analysis:
    return _analysis(FIXTURES / "negative.txt", tmp_path)


def test_assemblyai_view_reads_as_an_assemblyai_transcript(timed: Analysis) -> None:
    body = views.assemblyai(timed, source="calls/outage.json")
    transcript = TranscriptResponse.model_validate(body)
    assert transcript.status == TranscriptStatus.completed and transcript.audio_url == "calls/outage.json"
    results = transcript.sentiment_analysis_results
    assert results is not None and len(results) == len(timed.segments) > len(timed.transcript.segments)
    first = results[1]
    assert first.text == "My internet has been down for three days."
    assert first.sentiment == SentimentType.negative and 0 <= first.confidence <= 1
    assert (first.start, first.end) == (5000, round(timed.segments[1].end * 1000))
    assert first.speaker == "Customer"
    assert all(a.end <= b.start for a, b in itertools.pairwise(results)), "ms times in order"
    assert body["time_basis"] == "measured"


def test_deepgram_view_reads_as_a_deepgram_response(timed: Analysis) -> None:
    body = views.deepgram(timed)
    response = ReadV1Response.model_validate(body)
    sentiments = response.results.sentiments
    assert sentiments is not None and sentiments.segments is not None and sentiments.average is not None
    words = " ".join(s.text for s in timed.segments).split()
    for item in sentiments.segments:
        assert item.text is not None and item.start_word is not None and item.end_word is not None
        assert item.text.split() == words[int(item.start_word) : int(item.end_word) + 1], "inclusive word indexes"
        assert item.sentiment in ("positive", "neutral", "negative")
        assert item.sentiment_score is not None and -1 <= item.sentiment_score <= 1
    assert sentiments.segments[0].start_word == 0 and sentiments.segments[-1].end_word == len(words) - 1
    assert timed.timeline is not None and sentiments.average.sentiment_score == timed.timeline.overall.tally.score  # type: ignore[union-attr]


def test_insights_view_and_its_filters(timed: Analysis) -> None:
    body = views.insights(timed)
    assert set(body) == {"job_id", "pipeline", "sentiment", "behavioral", "summary", "resolution", "recommendations"}
    sentiment = body["sentiment"]
    assert sentiment["overall_label"] == views.INSIGHTS_BANDS.label(timed.overall.score) and sentiment["trend"] in (
        "improving",
        "stable",
        "declining",
    )
    rows = sentiment["segments"]
    assert [r["segment_id"] for r in rows] == [s.id for s in timed.transcript.segments], (
        "one row per transcript segment"
    )
    assert {r["speaker"] for r in rows} == {"Agent", "Customer"}
    assert rows[1]["start"] == 5.0 and rows[1]["end"] == 13.2
    assert body["behavioral"]["silence_ratio"] >= 0 and "agent" not in body["behavioral"]
    assert isinstance(body["summary"], str) and all(isinstance(r, str) for r in body["recommendations"])

    customer = views.insights(timed, insight_type="sentiment", speaker="Customer")
    assert set(customer) == {"job_id", "pipeline", "sentiment"}
    assert customer["sentiment"]["overall_score"] == timed.roles.customer.score
    assert {r["speaker"] for r in customer["sentiment"]["segments"]} == {"Customer"}

    minutes = views.insights(timed, insight_type="sentiment", granularity="minute")["sentiment"]
    assert [r["minute"] for r in minutes["segments"]] == [0, 1, 2]
    call = views.insights(timed, insight_type="sentiment", granularity="call")["sentiment"]
    assert call["segments"] == [
        {"start": 0.0, "end": 162.0, "label": sentiment["overall_label"], "score": timed.overall.score}
    ]

    agent = views.insights(timed, insight_type="behavioral", speaker="Agent")
    assert agent["behavioral"]["speaker"] == "Agent" and "talk_ratio" in agent["behavioral"]


def test_the_insights_view_labels_with_the_apis_bands_not_ours() -> None:
    """The API's score reference (+0.5 positive, -0.4 negative) labels every score the view reports; the
    native analysis keeps its own bands (±0.33)."""
    made = handmade.analysis(
        [("agent", -0.35), ("customer", 0.45), ("agent", -0.4), ("customer", 0.5), ("customer", -0.39)],
        customer=0.45,
        agent=-0.35,
        overall=-0.4,
    )
    native = made.model_dump()
    native_labels = (made.roles.customer.label, made.roles.agent.label, made.overall.label)
    assert native_labels == ("positive", "negative", "negative")
    assert [s.label for s in made.segments] == ["negative", "positive", "negative", "positive", "negative"]

    body = views.insights(made, insight_type="sentiment")["sentiment"]
    assert (body["overall_label"], body["overall_score"]) == ("negative", -0.4), "an edge is in its outer band"
    assert [(r["label"], r["score"]) for r in body["segments"]] == [
        ("neutral", -0.35),
        ("neutral", 0.45),
        ("negative", -0.4),
        ("positive", 0.5),
        ("neutral", -0.39),
    ]
    customer = views.insights(made, insight_type="sentiment", speaker="Customer")["sentiment"]
    assert (customer["overall_label"], customer["overall_score"]) == ("neutral", 0.45)
    agent_call = views.insights(made, insight_type="sentiment", speaker="Agent", granularity="call")["sentiment"]
    assert agent_call["overall_label"] == agent_call["segments"][0]["label"] == "neutral"
    assert made.timeline is not None and made.timeline.minutes[0].agent is not None
    assert made.timeline.minutes[0].agent.label == "negative", "the agent's minute, -0.375 by the native bands"
    (minute,) = views.insights(made, insight_type="sentiment", speaker="Agent", granularity="minute")["sentiment"][
        "segments"
    ]
    assert (minute["label"], minute["score"]) == ("neutral", -0.375)
    assert made.model_dump() == native, "the view relabels its own copy only"


def test_untimed_calls_say_their_times_are_estimated(untimed: Analysis) -> None:
    body = views.assemblyai(untimed, source="call.txt")
    assert body["time_basis"] == "estimated"
    TranscriptResponse.model_validate(body)
    sentiment = views.insights(untimed)["sentiment"]
    assert sentiment["time_basis"] == "estimated"
    assert views.insights(untimed)["behavioral"] is None, "no behavioral metrics without timings"


def test_views_are_stable_for_the_same_transcript(timed: Analysis, tmp_path: Path) -> None:
    again = _analysis(FIXTURES / "labeled" / "internet_outage.json", tmp_path / "again", split_words=20)
    assert views.call_id(timed) == views.call_id(again)
    assert views.deepgram(timed) == views.deepgram(again)
