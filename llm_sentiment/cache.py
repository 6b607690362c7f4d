"""Results cached on disk as JSON (never pickle): LLM answers, and transcripts of recordings.

Each is keyed by everything that shapes it: an answer by model, messages, schema and generation
parameters; a transcript by the audio's content hash, the Whisper model and the options.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import diskcache

from .llm import LLMClient, LLMRequest, LLMResponse


class JsonCache:
    """A private (0700) diskcache directory of JSON values."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        directory.chmod(0o700)
        self.directory = directory
        self._cache = diskcache.Cache(str(directory), disk=diskcache.JSONDisk, disk_compress_level=1)

    def get_json(self, key: str) -> Any:
        return self._cache.get(key)

    def set_json(self, key: str, value: Any) -> None:
        self._cache.set(key, value)

    def delete(self, key: str) -> None:
        self._cache.delete(key)

    def clear(self) -> int:
        return int(self._cache.clear())

    def __len__(self) -> int:
        return len(self._cache)

    def close(self) -> None:
        self._cache.close()


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

    def set(self, key: str, response: LLMResponse) -> None:
        self.set_json(key, response.model_dump(mode="json", exclude={"cache_hit"}))


class CachedLLM:
    """Serves repeated requests from the cache; a miss goes to the wrapped client and is stored."""

    def __init__(self, inner: LLMClient, cache: ResponseCache) -> None:
        self.inner = inner
        self.cache = cache

    def complete(self, request: LLMRequest) -> LLMResponse:
        key = request.cache_key()
        cached = self.cache.get(key)
        if cached is not None:
            return cached.model_copy(update={"cache_hit": True, "latency_s": 0.0})
        response = self.inner.complete(request)
        self.cache.set(key, response)
        return response
