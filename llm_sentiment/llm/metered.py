"""Every answer observed on its way out (tokens, cache hits, latency), for whoever counts them."""

from __future__ import annotations

from collections.abc import Callable

from .base import LLMClient, LLMRequest, LLMResponse, WrapperLLM


class MeteredLLM(WrapperLLM):
    """Hands every answer of the wrapped client to ``observe`` (the service's Prometheus metrics)."""

    def __init__(self, inner: LLMClient, observe: Callable[[LLMResponse], None]) -> None:
        super().__init__(inner)
        self.observe = observe

    def complete(self, request: LLMRequest) -> LLMResponse:
        response = self.inner.complete(request)
        self.observe(response)
        return response
