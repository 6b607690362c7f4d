"""Every answer observed on its way out (tokens, cache hits, latency), for whoever counts them."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from .base import LLMClient, LLMRequest, LLMResponse, SlotRequest, SlotResponse, SlotScoring, WrapperLLM


class MeteredLLM(WrapperLLM):
    """Hands every answer of the wrapped client to ``observe`` (the service's Prometheus metrics)."""

    def __init__(self, inner: LLMClient, observe: Callable[[LLMResponse], None]) -> None:
        super().__init__(inner)
        self.observe = observe

    def complete(self, request: LLMRequest) -> LLMResponse:
        response = self.inner.complete(request)
        self.observe(response)
        return response

    def score_slots(self, request: SlotRequest) -> SlotResponse:
        """A slot reading counts as an answer of no generated tokens."""
        response = cast(SlotScoring, self.inner).score_slots(request)
        self.observe(
            LLMResponse(
                content="",
                model=response.model,
                prompt_tokens=response.prompt_tokens,
                latency_s=response.latency_s,
                cache_hit=response.cache_hit,
            )
        )
        return response
