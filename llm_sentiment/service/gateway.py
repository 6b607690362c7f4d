"""The LLM-gateway endpoint: OpenAI chat completions over a job's transcript.

``{{ transcript }}`` in a message is replaced by the job's transcript text by a literal, single-pass
substitution: neither the user's messages nor the transcript are ever template source, so braces
in either are just characters and a transcript that itself contains ``{{ transcript }}`` is not
expanded again. The requested model name is mapped onto a model group by the router config
(``router_settings.model_group_alias``), so a vendor's model name works unchanged.
"""

from __future__ import annotations

import re
import secrets
import time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from llm_sentiment.llm.base import ChatMessage, LLMClient, LLMRequest
from llm_sentiment.llm.config import RouterConfig
from llm_sentiment.transcript.model import Transcript

PLACEHOLDER = re.compile(r"\{\{\s*transcript\s*\}\}")


class GatewayMessage(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str


class ChatCompletionRequest(BaseModel):
    """The fields the LLM-gateway recipe sends; other OpenAI parameters are accepted and ignored."""

    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1, max_length=200)
    messages: list[GatewayMessage] = Field(min_length=1, max_length=100)
    max_tokens: int = Field(1000, ge=1, le=8192)
    temperature: float = Field(0.0, ge=0, le=2)
    transcript_id: str | None = Field(None, max_length=64, description="Job whose transcript fills {{ transcript }}.")


class ChoiceMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int
    message: ChoiceMessage
    finish_reason: str


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class GatewayProvenance(BaseModel):
    model_requested: str
    model_used: str
    fallbacks_tried: list[str]
    cache_hit: bool
    latency_s: float


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    provenance: GatewayProvenance


def transcript_text(transcript: Transcript) -> str:
    """One line per turn: ``[mm:ss] Speaker (role): text``."""
    lines = []
    for segment in transcript.segments:
        clock = ""
        if segment.start is not None:
            minutes, seconds = divmod(int(segment.start), 60)
            clock = f"[{minutes:02d}:{seconds:02d}] "
        role = f" ({segment.role})" if segment.role else ""
        lines.append(f"{clock}{segment.speaker}{role}: {segment.text}")
    return "\n".join(lines)


def needs_transcript(request: ChatCompletionRequest) -> bool:
    return any(PLACEHOLDER.search(m.content) for m in request.messages)


def fill(messages: list[GatewayMessage], transcript: str) -> list[ChatMessage]:
    return [ChatMessage(role=m.role, content=PLACEHOLDER.sub(lambda _match: transcript, m.content)) for m in messages]


def complete(
    llm: LLMClient, config: RouterConfig, request: ChatCompletionRequest, transcript: Transcript | None
) -> ChatCompletion:
    group = config.resolve(request.model)
    messages = (
        fill(request.messages, transcript_text(transcript))
        if transcript is not None
        else [ChatMessage(role=m.role, content=m.content) for m in request.messages]
    )
    response = llm.complete(
        LLMRequest(model=group, messages=messages, max_tokens=request.max_tokens, temperature=request.temperature)
    )
    finish_reason = "length" if response.completion_tokens >= request.max_tokens else "stop"
    return ChatCompletion(
        id="chatcmpl-" + secrets.token_hex(12),
        created=int(time.time()),
        model=response.model,
        choices=[Choice(index=0, message=ChoiceMessage(content=response.content), finish_reason=finish_reason)],
        usage=Usage(
            prompt_tokens=response.prompt_tokens,
            completion_tokens=response.completion_tokens,
            total_tokens=response.prompt_tokens + response.completion_tokens,
        ),
        provenance=GatewayProvenance(
            model_requested=request.model,
            model_used=response.model,
            fallbacks_tried=response.fallbacks_tried,
            cache_hit=response.cache_hit,
            latency_s=response.latency_s,
        ),
    )
