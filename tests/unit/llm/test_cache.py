from __future__ import annotations

import sqlite3
import stat
from pathlib import Path
from typing import Any

from llm_sentiment._util.jsoncache import JsonCache, tagged
from llm_sentiment.analysis.analyzer import Analyzer
from llm_sentiment.llm.base import ChatMessage, LLMRequest
from llm_sentiment.llm.cached import CachedLLM, ResponseCache
from llm_sentiment.llm.testing import FakeLLM
from llm_sentiment.roles.rules import assign_roles
from llm_sentiment.transcript.formats import load_transcript
from tests.conftest import FIXTURES
from tests.unit.analysis.test_analyze import _queue_clean_run


def test_rerun_is_served_from_cache(settings: Any, prompts: Any) -> None:
    call = assign_roles(load_transcript(FIXTURES / "negative.txt"))
    fake = _queue_clean_run(FakeLLM())
    cache = ResponseCache(settings.cache_dir)
    llm = CachedLLM(fake, cache)
    first = Analyzer(llm, prompts, settings.analysis_options()).analyze(call, parts=())
    assert not any(p.cache_hit for p in first.provenance)
    second = Analyzer(llm, prompts, settings.analysis_options()).analyze(call, parts=())
    assert all(p.cache_hit for p in second.provenance)
    assert len(fake.requests) == 6, "the second run asked the model nothing"
    assert second.roles == first.roles and second.overall == first.overall
    cache.close()


def test_cache_directory_is_private_and_holds_json_not_pickle(settings: Any) -> None:
    cache = ResponseCache(settings.cache_dir)
    llm = CachedLLM(FakeLLM().enqueue({"label": "neutral", "confidence": 0.5}), cache)
    llm.complete(LLMRequest(model="m", messages=[ChatMessage(role="user", content="hi")]))
    cache.close()
    assert stat.S_IMODE(settings.cache_dir.stat().st_mode) == 0o700
    rows = sqlite3.connect(settings.cache_dir / "cache.db").execute("SELECT mode FROM Cache").fetchall()
    # diskcache modes: 1 raw, 2 binary, 3 text, 4 pickle. JSONDisk stores compressed JSON bytes (binary).
    assert rows and all(mode != 4 for (mode,) in rows)


def test_key_covers_what_shapes_the_answer() -> None:
    base = LLMRequest(model="m", messages=[ChatMessage(role="user", content="hi")])
    assert base.cache_key() == LLMRequest(model="m", messages=[ChatMessage(role="user", content="hi")]).cache_key()
    for change in (
        {"model": "other"},
        {"max_tokens": 9},
        {"temperature": 0.5},
        {"json_schema": {"type": "object"}},
        {"messages": [ChatMessage(role="user", content="hi!")]},
        {"top_logprobs": 3},
    ):
        assert base.model_copy(update=change).cache_key() != base.cache_key()
    assert "timeout" not in LLMRequest.model_fields and "num_retries" not in LLMRequest.model_fields


def test_cached_value_on_disk_is_readable_json(tmp_path: Path) -> None:
    import json
    import zlib

    cache = ResponseCache(tmp_path / "c")
    llm = CachedLLM(FakeLLM().enqueue("plain answer"), cache)
    llm.complete(LLMRequest(model="m", messages=[ChatMessage(role="user", content="hi")]))
    cache.close()
    (raw,) = sqlite3.connect(tmp_path / "c" / "cache.db").execute("SELECT value FROM Cache").fetchone()
    assert json.loads(zlib.decompress(raw))["content"] == "plain answer"


def test_entries_stored_for_a_call_are_evicted_with_its_tag(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "answers")
    llm = CachedLLM(FakeLLM(respond=lambda request: request.messages[0].content), cache)

    def ask(text: str) -> None:
        llm.complete(LLMRequest(model="m", messages=[ChatMessage(role="user", content=text)]))

    with tagged("a" * 64):
        ask("call a, question 1")
        ask("call a, question 2")
    with tagged("b" * 64):
        ask("call b")
    ask("no call")
    assert cache.evict("a" * 64) == 2
    assert len(cache) == 2 and cache.evict("a" * 64) == 0
    transcripts = JsonCache(tmp_path / "transcripts")
    transcripts.set_json("transcript:x", {"text": "call b"}, tag="b" * 64)
    assert transcripts.evict("b" * 64) == 1 and len(transcripts) == 0
    cache.close()
    transcripts.close()


def test_slot_readings_are_cached_like_answers(settings: Any) -> None:
    from llm_sentiment.llm.base import SlotRequest

    cache = ResponseCache(settings.cache_dir)
    fake = FakeLLM().enqueue_slots([{"positive": 0.1, "neutral": 0.8, "negative": 0.1}])
    llm = CachedLLM(fake, cache)
    request = SlotRequest(
        model="m", messages=[ChatMessage(role="user", content="rate")], lines=["[1] A: hi ->"], labels=["a", "b"]
    )
    first = llm.score_slots(request)
    second = llm.score_slots(request)
    assert llm.reads_slots("m") is True, "what the wrapper does not handle goes to the model it wraps"
    assert not first.cache_hit and second.cache_hit and second.probabilities == first.probabilities
    assert len(fake.slot_requests) == 1
    assert request.cache_key() != LLMRequest(model="m", messages=request.messages).cache_key()
    cache.close()


def test_a_slot_reading_is_metered_as_an_answer_of_no_generated_tokens() -> None:
    from llm_sentiment.llm.base import SlotRequest
    from llm_sentiment.llm.metered import MeteredLLM

    seen: list[Any] = []
    llm = MeteredLLM(FakeLLM().enqueue_slots([{"a": 0.5, "b": 0.5}]), seen.append)
    request = SlotRequest(
        model="m", messages=[ChatMessage(role="user", content="rate")], lines=["x ->"], labels=["a", "b"]
    )
    assert llm.score_slots(request).probabilities == [{"a": 0.5, "b": 0.5}]
    assert [(r.prompt_tokens, r.completion_tokens, r.content) for r in seen] == [(10, 0, "")]
