"""Fallback as composition: a request whose model fails with a transport error goes to the next model.

Only provider and transport errors (timeouts, 5xx, 429, connection errors) move on; a rejected
request or a malformed answer would fail the same way on any model, so those stop at once. The
answer names the models that failed before it (``fallbacks_tried``); when every model failed,
``AllModelsFailedError`` lists them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from llm_sentiment.errors import AllModelsFailedError, ProviderError

from .base import LLMClient, LLMRequest, LLMResponse, WrapperLLM


@dataclass(frozen=True)
class Backup:
    """A model group to try next, and the client that reaches it."""

    model: str
    client: LLMClient


class FallbackLLM(WrapperLLM):
    """``primary`` answers each request's own model; ``backups[model]`` are tried in order when it fails."""

    def __init__(self, primary: LLMClient, backups: Mapping[str, Sequence[Backup]] | None = None) -> None:
        super().__init__(primary)
        self.backups = dict(backups or {})

    def complete(self, request: LLMRequest) -> LLMResponse:
        chain = [Backup(request.model, self.inner), *self.backups.get(request.model, ())]
        tried: list[str] = []
        errors: list[str] = []
        for step in chain:
            try:
                response = step.client.complete(request.model_copy(update={"model": step.model}))
            except ProviderError as exc:
                if not exc.retryable:
                    raise
                tried.append(step.model)
                errors.append(exc.message)
                continue
            return response.model_copy(update={"fallbacks_tried": tried})
        raise AllModelsFailedError(
            "every model failed: " + "; ".join(errors),
            tried=tried,
            hint="Check that the model servers are reachable, or add a fallback model.",
        )
