"""LLM answers cached on disk as JSON, keyed by model, messages, schema and generation parameters."""

from __future__ import annotations

from pathlib import Path

from llm_sentiment._util.jsoncache import JsonCache, current_tag

from .base import LLMClient, LLMRequest, LLMResponse, WrapperLLM


class ResponseCache(JsonCache):
    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> LLMResponse | None:
        value = self.get_json(key)
        if value is None:
            self.misses += 1
            return None
        self.hits += 1
        return LLMResponse.model_validate(value)

    def set(self, key: str, response: LLMResponse, tag: str | None = None) -> None:
        self.set_json(key, response.model_dump(mode="json", exclude={"cache_hit"}), tag)


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
