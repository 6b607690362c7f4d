"""The port every LLM backend implements: one request in, one response out.

The analysis pipeline only sees ``LLMClient``; LiteLLM (``router.py``), the response cache
(``cache.py``) and the test double (``fake_llm.py``) are adapters behind it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str


class LLMRequest(BaseModel):
    model: str
    messages: list[ChatMessage]
    json_schema: dict[str, Any] | None = Field(None, description="Constrain the answer to this JSON schema.")
    max_tokens: int = 256
    temperature: float = 0.0
    seed: int = 0
    top_logprobs: int = Field(0, ge=0, le=20, description="Alternatives per generated token; 0 asks for none.")

    def cache_key(self) -> str:
        """Model + messages + schema + generation parameters; never timeouts or retry counts."""
        payload = self.model_dump(mode="json")
        return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class TokenLogprob(BaseModel):
    token: str
    logprob: float
    top: dict[str, float] = Field(default_factory=dict, description="Alternatives at this position, unconstrained.")


class LLMResponse(BaseModel):
    content: str
    model: str = Field(description="The model group that actually answered.")
    fallbacks_tried: list[str] = Field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    logprobs: list[TokenLogprob] | None = None
    cache_hit: bool = False


class LLMClient(Protocol):
    def complete(self, request: LLMRequest) -> LLMResponse: ...
