"""A scripted LLM for unit tests of pipeline logic: enqueue answers, then inspect the requests."""

from __future__ import annotations

import json
from collections import deque
from typing import Any

from .llm import LLMRequest, LLMResponse, TokenLogprob


class FakeLLM:
    def __init__(self, model: str = "fake") -> None:
        self.model = model
        self.requests: list[LLMRequest] = []
        self._queue: deque[LLMResponse | Exception] = deque()

    def enqueue(
        self,
        answer: str | dict[str, Any] | Exception,
        *,
        label_probs: dict[str, float] | None = None,
        key_probs: dict[str, dict[str, float]] | None = None,
        prompt_tokens: int = 10,
        completion_tokens: int = 5,
    ) -> FakeLLM:
        """Queue one answer; ``label_probs`` makes it carry logprobs for the ``"label"`` value, ``key_probs``
        for the value of each named key (a batch answer such as ``{"3": "negative"}``)."""
        if isinstance(answer, Exception):
            self._queue.append(answer)
            return self
        content = answer if isinstance(answer, str) else json.dumps(answer)
        probs = key_probs or ({"label": label_probs} if label_probs else None)
        logprobs = _keyed_logprobs(content, probs) if probs else None
        self._queue.append(
            LLMResponse(
                content=content,
                model=self.model,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                logprobs=logprobs,
            )
        )
        return self

    @property
    def pending(self) -> int:
        return len(self._queue)

    def complete(self, request: LLMRequest) -> LLMResponse:
        self.requests.append(request)
        if not self._queue:
            raise AssertionError(f"FakeLLM: no answer queued for request #{len(self.requests)}")
        item = self._queue.popleft()
        if isinstance(item, Exception):
            raise item
        return item


def _keyed_logprobs(content: str, probs: dict[str, dict[str, float]]) -> list[TokenLogprob]:
    """Tokens as a real tokenizer might split them, with the label alternatives at each value's position."""
    import math

    tokens: list[TokenLogprob] = []
    at = 0
    for key, distribution in probs.items():
        key_at = content.index(json.dumps(key), at)
        value_at = content.index('"', content.index(":", key_at + len(json.dumps(key))) + 1) + 1
        value_end = content.index('"', value_at)
        top = {label: math.log(p) for label, p in distribution.items() if p > 0}
        chosen = content[value_at:value_end]
        tokens.append(TokenLogprob(token=content[at:value_at], logprob=0.0))
        tokens.append(TokenLogprob(token=chosen, logprob=top.get(chosen, -20.0), top=top))
        at = value_end
    tokens.append(TokenLogprob(token=content[at:], logprob=0.0))
    return tokens
