"""The embedded model, for real: per-segment sentiment on a hand-labeled call, views, and a windowed call."""

from __future__ import annotations

import json
from typing import Any

import pytest
from assemblyai.types import TranscriptResponse
from deepgram.types import ReadV1Response

from llm_sentiment.analysis.analyzer import Analyzer
from llm_sentiment.ask.answers import RESOLUTIONS
from llm_sentiment.ask.prompts import PromptSet
from llm_sentiment.evals.synth.scripted_calls import as_transcript, scripted_call
from llm_sentiment.llm.cached import CachedLLM, ResponseCache
from llm_sentiment.roles.rules import assign_roles
from llm_sentiment.settings import Settings
from llm_sentiment.transcript.text import split_sentences
from llm_sentiment.views import vendors as views
from llm_sentiment.wiring import build_router, load_call
from tests.conftest import FIXTURES

pytestmark = pytest.mark.real_model

LABELED = FIXTURES / "labeled" / "address_change.json"
SMALL = "local/qwen2.5-coder-0.5b"


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Any:
    settings = Settings(cache_path=tmp_path_factory.mktemp("real-seg-cache"))
    router = build_router(settings)
    cache = ResponseCache(settings.cache_dir)
    yield settings, router, CachedLLM(router, cache)
    cache.close()


def test_a_labeled_call_end_to_end(real: Any) -> None:
    settings, _, llm = real
    call = load_call(LABELED)
    result = Analyzer(
        llm, PromptSet(settings.prompts_dir, settings.prompts_version), settings.analysis_options()
    ).analyze(call)
    expected = [s["expected"] for s in json.loads(LABELED.read_text())["segments"]]

    assert [s.segment_id for s in result.segments] == [s.id for s in call.segments]
    assert all(s.confidence_source == "logprobs" and s.probabilities for s in result.segments)
    agreement = sum(s.label == e for s, e in zip(result.segments, expected, strict=True)) / len(expected)
    assert agreement >= 0.6, [(s.segment_id, s.label, e) for s, e in zip(result.segments, expected, strict=True)]
    batches = [p for p in result.provenance if p.question_id == "segment_sentiment"]
    assert batches and all(b.asks == 1 for b in batches), "the grammar keeps the ids: no re-ask needed"

    assert result.summary is not None and 1 <= len(split_sentences(result.summary.text)) <= 5
    assert result.resolution is not None and result.resolution.status in RESOLUTIONS
    assert 1 <= len(result.recommendations) <= 3
    quotes = [q for part in (result.summary.quotes, result.resolution.quotes) for q in part]
    quotes += [q for r in result.recommendations for q in r.quotes]
    for quote in quotes:
        assert quote.text in call.segments[quote.segment_id - 1].text
    assert result.timeline is not None and result.timeline.time_basis == "measured"

    TranscriptResponse.model_validate(views.assemblyai(result, source=str(LABELED)))
    ReadV1Response.model_validate(views.deepgram(result))
    insights = views.insights(result, speaker="Customer")
    assert insights["sentiment"]["segments"] and isinstance(insights["summary"], str)


def test_a_call_longer_than_the_context_is_windowed_for_real(real: Any) -> None:
    """A small context makes a 3-minute call 'long'; the small model keeps it affordable."""
    settings, router, _ = real
    tight = settings.model_copy(update={"context_tokens": 3072, "model": SMALL})
    call = assign_roles(as_transcript(scripted_call(minutes=3, seed=1)))
    result = Analyzer(router, PromptSet(tight.prompts_dir, "v1"), tight.analysis_options()).analyze(
        call, parts=("segments",)
    )
    assert len(result.windows) >= 2
    assert [s.segment_id for s in result.segments] == [s.id for s in call.segments]
    assert {p.window for p in result.provenance if p.question_id == "window_notes"} == {w.index for w in result.windows}
    assert all(p.prompt_tokens <= 3072 for p in result.provenance if p.asks == 1), "each question fits"
    for quote in result.roles.customer.quotes + result.overall.quotes:
        assert quote.text in call.segments[quote.segment_id - 1].text


def test_the_embedded_model_reads_label_slots_and_agrees_with_the_hand_labels(real: Any) -> None:
    settings, router, _ = real
    call = load_call(LABELED)
    expected = [s["expected"] for s in json.loads(LABELED.read_text())["segments"]]
    prompts = PromptSet(settings.prompts_dir, settings.prompts_version)
    by_slots = Analyzer(router, prompts, settings.analysis_options()).score_text(call)
    segments, provenance, warnings = by_slots
    assert not warnings and {p.template_id for p in provenance} == {"segment_slots"}
    assert all(p.completion_tokens == 0 for p in provenance), "nothing is written"
    for s in segments:
        assert s.probabilities and abs(sum(s.probabilities.values()) - 1) < 1e-3 and s.confidence_source == "logprobs"
    agreement = sum(s.label == e for s, e in zip(segments, expected, strict=True)) / len(expected)
    assert agreement >= 0.6, [(s.segment_id, s.label, e) for s, e in zip(segments, expected, strict=True)]

    by_questions = settings.model_copy(update={"segment_slots": False})
    asked = Analyzer(router, prompts, by_questions.analysis_options()).score_text(call)
    assert {p.template_id for p in asked[1]} == {"segment_sentiment"}, "the batch questions remain for other models"
    assert len(asked[0]) == len(segments)
