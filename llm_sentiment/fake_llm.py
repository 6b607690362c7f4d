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
        prompt_tokens: int = 10,
        completion_tokens: int = 5,
    ) -> FakeLLM:
        """Queue one answer; ``label_probs`` makes it carry logprobs for the ``"label"`` value."""
        if isinstance(answer, Exception):
            self._queue.append(answer)
            return self
        content = answer if isinstance(answer, str) else json.dumps(answer)
        logprobs = _label_logprobs(content, label_probs) if label_probs else None
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


def _label_logprobs(content: str, probs: dict[str, float]) -> list[TokenLogprob]:
    """Tokens as a real tokenizer might split them, with the label alternatives at the value's position."""
    import math

    start = content.index('"label"')
    value_at = content.index('"', start + len('"label"') + 1) + 1
    value_end = content.index('"', value_at)
    top = {label: math.log(p) for label, p in probs.items() if p > 0}
    chosen = content[value_at:value_end]
    return [
        TokenLogprob(token=content[:value_at], logprob=0.0),
        TokenLogprob(token=chosen, logprob=top.get(chosen, -20.0), top=top),
        TokenLogprob(token=content[value_end:], logprob=0.0),
    ]
