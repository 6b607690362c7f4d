"""A 60-minute call, longer than the model's context: overlapping windows, map-reduce, nothing truncated."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from llm_sentiment.analysis.analyzer import Analyzer
from llm_sentiment.analysis.long_calls import estimate_tokens
from llm_sentiment.ask.prompts import PromptSet
from llm_sentiment.errors import ConfigError
from llm_sentiment.evals.synth.scripted_calls import as_transcript, scripted_call
from llm_sentiment.llm.testing import SchemaLLM
from llm_sentiment.roles.rules import assign_roles
from llm_sentiment.settings import Settings
from llm_sentiment.views.text import render_text


@pytest.fixture(scope="module")
def hour_call() -> object:
    return assign_roles(as_transcript(scripted_call(minutes=60, seed=3)))


def test_an_hour_long_call_is_read_in_windows_and_reduced(hour_call: object, tmp_path: Path) -> None:
    settings = Settings(cache_path=tmp_path / "c")
    prompts = PromptSet(settings.prompts_dir, settings.prompts_version)
    call = hour_call
    assert call.duration is not None and call.duration >= 3600  # type: ignore[attr-defined]
    llm = SchemaLLM()
    analyzer = Analyzer(llm, prompts, settings.analysis_options("schema-fake"))
    seen: list[str] = []
    result = analyzer.analyze(call, progress=seen.append)  # type: ignore[arg-type]

    segments = call.segments  # type: ignore[attr-defined]
    whole = sum(estimate_tokens(s.text) for s in segments)
    assert whole > settings.context_window, "the call really is longer than the context"
    assert len(result.windows) >= 2
    assert [s.segment_id for s in result.segments] == [s.id for s in segments], "every segment scored once, in order"
    for before, after in zip(result.windows, result.windows[1:], strict=False):
        assert after.core_segment == before.last_segment + 1
        assert after.first_segment < after.core_segment, "windows overlap"
    for request in llm.requests:
        size = sum(estimate_tokens(m.content) for m in request.messages) + request.max_tokens
        assert size <= settings.context_window, "every request fits the model's context"

    batches = [p for p in result.provenance if p.question_id == "segment_sentiment"]
    assert {p.window for p in batches} == {w.index for w in result.windows}
    notes = [p for p in result.provenance if p.question_id == "window_notes"]
    assert [p.window for p in notes] == [w.index for w in result.windows]
    reduce = [p for p in result.provenance if p.question_id.endswith(("_sentiment", "_evidence")) and p.window is None]
    assert len(reduce) == 6, "role questions are asked once, over the digest"
    evidence = [r for r in llm.requests if f"read in {len(result.windows)} parts" in r.messages[0].content]
    assert len(evidence) >= 3, "the evidence questions are asked over the digest"
    assert len(seen) == analyzer.steps(call, []), "progress counts every question"  # type: ignore[arg-type]

    for quote in result.roles.customer.quotes + (result.summary.quotes if result.summary else []):
        assert quote.text in segments[quote.segment_id - 1].text, "reduce-step quotes are the transcript's own words"
    assert result.timeline is not None and result.timeline.duration >= 3600
    assert len(result.timeline.minutes) == math.ceil(result.timeline.duration / 60)
    report = render_text(result)
    assert f"the 40 strongest of {len(segments)}" in report and "overlapping windows" in report


def test_a_short_call_is_one_window_with_one_prefix(tmp_path: Path) -> None:
    settings = Settings(cache_path=tmp_path / "c")
    prompts = PromptSet(settings.prompts_dir, settings.prompts_version)
    call = assign_roles(as_transcript(scripted_call(minutes=2)))
    llm = SchemaLLM()
    result = Analyzer(llm, prompts, settings.analysis_options()).analyze(call)
    assert result.windows == []
    after_labels = llm.requests[3:]
    assert len({r.messages[0].content for r in after_labels}) == 1, "after the labels, one shared system message"


def test_a_context_too_small_for_any_window_is_a_config_error(tmp_path: Path) -> None:
    settings = Settings(cache_path=tmp_path / "c", context_tokens=1024)
    prompts = PromptSet(settings.prompts_dir, settings.prompts_version)
    call = assign_roles(as_transcript(scripted_call(minutes=1)))
    with pytest.raises(ConfigError, match="context"):
        Analyzer(SchemaLLM(), prompts, settings.analysis_options()).analyze(call)
