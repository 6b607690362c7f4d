"""Ask one question and get a valid, checked answer: parse into the output model, re-ask on failure."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field, ValidationError

from llm_sentiment.errors import InvalidAnswerError, InvalidGrammarError
from llm_sentiment.llm.base import ChatMessage, LLMClient, LLMRequest, LLMResponse

from .prompts import QuestionTemplate

T = TypeVar("T", bound=BaseModel)

log = logging.getLogger(__name__)


class Provenance(BaseModel):
    question_id: str
    template_id: str
    template_version: str
    template_hash: str
    model_requested: str
    model_used: str
    fallbacks_tried: list[str] = Field(default_factory=list, description="Models that failed before model_used.")
    cache_hit: bool
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    asks: int = Field(1, description="1 + re-asks after invalid or ungrounded answers.")
    window: int | None = Field(None, description="The window of a long call this question was asked about.")
    segment_ids: list[int] | None = Field(None, description="The segments a batch scored.")

ANY_JSON_OBJECT: dict[str, Any] = {"type": "object"}
"""What a question whose grammar llama.cpp rejects is constrained to instead; its answer is validated."""

Check = Callable[[T], str | None]


@dataclass
class Answered(Generic[T]):
    value: T
    response: LLMResponse
    provenance: Provenance
    unresolved: str | None = None
    """The check's last complaint when re-asks ran out (the caller repairs or drops)."""


@dataclass
class _Tally:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    cache_hit: bool = True
    fallbacks: list[str] = field(default_factory=list)

    def add(self, response: LLMResponse) -> None:
        self.prompt_tokens += response.prompt_tokens
        self.completion_tokens += response.completion_tokens
        self.latency_s += response.latency_s
        self.cache_hit = self.cache_hit and response.cache_hit
        self.fallbacks.extend(m for m in response.fallbacks_tried if m not in self.fallbacks)


def _validation_summary(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:3]:
        where = ".".join(str(p) for p in error["loc"]) or "answer"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def ask(
    llm: LLMClient,
    *,
    model: str,
    question_id: str,
    template: QuestionTemplate,
    messages: list[ChatMessage],
    output: type[T],
    schema: dict[str, Any],
    max_tokens: int,
    max_reasks: int,
    top_logprobs: int = 0,
    check: Check[T] | None = None,
) -> Answered[T]:
    """Re-asks go to the same model with the rejected answer and the reason appended, keeping the prefix.

    A schema whose grammar llama.cpp cannot parse is not sent again: the question is asked as any JSON
    object instead, and the answer validated against the output model as usual."""
    history = list(messages)
    tally = _Tally()
    best: tuple[T, str, LLMResponse] | None = None
    problem = ""
    response: LLMResponse | None = None
    for attempt in range(1, max_reasks + 2):
        request = LLMRequest(
            model=model, messages=history, json_schema=schema, max_tokens=max_tokens, top_logprobs=top_logprobs
        )
        try:
            response = llm.complete(request)
        except InvalidGrammarError as exc:
            if schema is ANY_JSON_OBJECT:
                raise
            log.warning(
                "%s: %s (%s); asking without the answer's grammar",
                question_id,
                exc.message,
                exc.details.get("fragment", ""),
            )
            schema = ANY_JSON_OBJECT
            response = llm.complete(request.model_copy(update={"json_schema": schema}))
        tally.add(response)
        try:
            parsed = output.model_validate_json(response.content)
        except ValidationError as exc:
            problem = f"the answer is not valid JSON for the schema ({_validation_summary(exc)})"
        else:
            problem = (check(parsed) if check else None) or ""
            best = (parsed, problem, response)
            if not problem:
                break
        if attempt <= max_reasks:
            history = [
                *history,
                ChatMessage(role="assistant", content=response.content),
                ChatMessage(role="user", content=f"That answer was rejected: {problem}. Answer again, as JSON only."),
            ]
    assert response is not None
    provenance = Provenance(
        question_id=question_id,
        template_id=template.meta.id,
        template_version=template.meta.version,
        template_hash=template.sha256[:16],
        model_requested=model,
        model_used=response.model,
        fallbacks_tried=tally.fallbacks,
        cache_hit=tally.cache_hit,
        prompt_tokens=tally.prompt_tokens,
        completion_tokens=tally.completion_tokens,
        latency_s=round(tally.latency_s, 3),
        asks=attempt,
    )
    if best is None:
        raise InvalidAnswerError(
            f"{question_id}: {response.model} gave no valid answer in {attempt} tries: {problem}",
            hint="Try another model (--model) or a prompt version whose output it can follow.",
            last_answer=response.content[:500],
        )
    value, unresolved, answered_by = best
    return Answered(value=value, response=answered_by, provenance=provenance, unresolved=unresolved or None)
