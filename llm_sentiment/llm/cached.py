"""LLM answers cached on disk as JSON, keyed by model, messages, schema and generation parameters."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar, cast

from llm_sentiment._util.jsoncache import JsonCache, current_tag

from .base import LLMClient, LLMRequest, LLMResponse, SlotRequest, SlotResponse, SlotScoring, WrapperLLM

Cached = TypeVar("Cached", LLMResponse, SlotResponse)


class ResponseCache(JsonCache):
    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> LLMResponse | None:
        return self._counted(key, LLMResponse)

    def set(self, key: str, response: LLMResponse | SlotResponse, tag: str | None = None) -> None:
        self.set_json(key, response.model_dump(mode="json", exclude={"cache_hit"}), tag)

    def get_slots(self, key: str) -> SlotResponse | None:
        return self._counted(key, SlotResponse)

    def _counted(self, key: str, kind: type[Cached]) -> Cached | None:
        value = self.get_json(key)
        if value is None:
            self.misses += 1
            return None
        self.hits += 1
        return kind.model_validate(value)


class CachedLLM(WrapperLLM):
    """Serves repeated requests from the cache; a miss goes to the wrapped client and is stored,
    tagged with the call it was asked for (``tagged``)."""

    def __init__(self, inner: LLMClient, cache: ResponseCache) -> None:
        super().__init__(inner)
        self.cache = cache

    def complete(self, request: LLMRequest) -> LLMResponse:
        key = request.cache_key()
        cached = self.cache.get(key)
        if cached is not None:
            return cached.model_copy(update={"cache_hit": True, "latency_s": 0.0})
        response = self.inner.complete(request)
        self.cache.set(key, response, current_tag())
        return response

    def score_slots(self, request: SlotRequest) -> SlotResponse:
        key = request.cache_key()
        cached = self.cache.get_slots(key)
        if cached is not None:
            return cached.model_copy(update={"cache_hit": True, "latency_s": 0.0})
        response = cast(SlotScoring, self.inner).score_slots(request)
        self.cache.set(key, response, current_tag())
        return response
