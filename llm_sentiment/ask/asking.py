"""Ask one question and get a valid, checked answer: parse into the output model, re-ask on failure.

The parse / validate / re-ask loop is instructor's (``Mode.JSON_SCHEMA``, so no prompt is rewritten):
our checks (grounded quotes, sentence counts, batch ids) run as a Pydantic validator of the output
model, and a failure is re-asked of the same model with the rejected answer and the reason appended,
keeping the shared prefix. Behind instructor's create call is our LLM port: the request carries the
question's own JSON schema (the embedded model's grammar) and its label logprobs as provider
arguments, and every response is kept for provenance and the logprobs.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

from pydantic import BaseModel, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from llm_sentiment.errors import InvalidAnswerError, InvalidGrammarError, LLMSentimentError
from llm_sentiment.llm.base import ChatMessage, LLMClient, LLMRequest, LLMResponse, SlotResponse

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

    def then(self, later: Provenance) -> Provenance:
        """The same question asked again from outside its ask loop (an unsupported summary is re-asked after
        the support check): still one entry, with the asks and their cost added up."""
        return self.model_copy(
            update={
                "model_used": later.model_used,
                "fallbacks_tried": [
                    *self.fallbacks_tried,
                    *(m for m in later.fallbacks_tried if m not in self.fallbacks_tried),
                ],
                "cache_hit": self.cache_hit and later.cache_hit,
                "prompt_tokens": self.prompt_tokens + later.prompt_tokens,
                "completion_tokens": self.completion_tokens + later.completion_tokens,
                "latency_s": round(self.latency_s + later.latency_s, 3),
                "asks": self.asks + later.asks,
            }
        )


def slot_provenance(
    question_id: str,
    template: QuestionTemplate,
    model: str,
    response: SlotResponse,
    *,
    window: int | None,
    segment_ids: list[int] | None = None,
) -> Provenance:
    """A slot read's entry (per-segment labels, a label probe): one pass, nothing generated, never re-asked."""
    return Provenance(
        question_id=question_id,
        template_id=template.meta.id,
        template_version=template.meta.version,
        template_hash=template.sha256[:16],
        model_requested=model,
        model_used=response.model,
        cache_hit=response.cache_hit,
        prompt_tokens=response.prompt_tokens,
        completion_tokens=0,
        latency_s=response.latency_s,
        window=window,
        segment_ids=segment_ids,
    )


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


def _problem(exc: Exception) -> str:
    """What the re-ask tells the model: our check's complaint, or what was wrong with the JSON."""
    if isinstance(exc, ValidationError):
        ours = [e for e in exc.errors() if e["type"] == _CHECK]
        if ours:
            return str(ours[0]["ctx"]["problem"])
        return f"the answer is not valid JSON for the schema ({_validation_summary(exc)})"
    return str(exc)


def rejected_turns(answer: str, problem: str) -> list[ChatMessage]:
    """What a re-ask appends to the question: the rejected answer, then why (the shared prefix is kept)."""
    return [
        ChatMessage(role="assistant", content=answer),
        ChatMessage(role="user", content=f"That answer was rejected: {problem}. Answer again, as JSON only."),
    ]


def _reask(messages: list[dict[str, Any]], answer: str, problem: str) -> list[dict[str, Any]]:
    return [*messages, *(m.model_dump() for m in rejected_turns(answer, problem))]


_CHECK = "answer_check"


@functools.cache
def _instructor_mode() -> tuple[Any, Any, Any]:
    """instructor's JSON-schema mode for answers behind our port, with our re-ask wording (imported late: it is
    large, and a cached run never asks)."""
    import instructor
    from instructor.utils.providers import Provider
    from instructor.v2.core.decorators import register_mode_handler
    from instructor.v2.core.patch import patch_v2
    from instructor.v2.providers.openai.handlers import OpenAIJSONSchemaHandler

    logging.getLogger("instructor").setLevel(logging.CRITICAL)  # its retry chatter; failures reach us as errors

    @register_mode_handler(Provider.LITELLM, instructor.Mode.JSON_SCHEMA)
    class _Handler(OpenAIJSONSchemaHandler):
        def handle_reask(self, kwargs: dict[str, Any], response: Any, exception: Exception) -> dict[str, Any]:
            answer = response.choices[0].message.content or ""
            return {**kwargs, "messages": _reask(list(kwargs["messages"]), answer, _problem(exception))}

    return instructor, Provider.LITELLM, patch_v2


def _checked(output: type[T], check: Check[T] | None) -> type[T]:
    """``output`` with ``check`` as its validator, so instructor re-asks a failed check like a parse error."""
    if check is None:
        return output

    def _run_check(self: Any) -> Any:
        problem = check(self)
        if problem:
            raise PydanticCustomError(_CHECK, "{problem}", {"problem": problem})
        return self

    namespace: dict[str, Any] = {"_answer_check": model_validator(mode="after")(_run_check)}
    return cast(type[T], type(output.__name__, (output,), namespace))


class _Port:
    """instructor's create call, answered by our LLM port; every response is kept."""

    def __init__(self, llm: LLMClient, schema: dict[str, Any], max_tokens: int, top_logprobs: int, question_id: str):
        self.llm = llm
        self.schema = schema
        self.max_tokens = max_tokens
        self.top_logprobs = top_logprobs
        self.question_id = question_id
        self.responses: list[LLMResponse] = []

    def __call__(self, *, model: str, messages: list[dict[str, Any]], **_provider_format: Any) -> Any:
        from openai.types.chat import ChatCompletion

        request = LLMRequest(
            model=model,
            messages=[ChatMessage(role=m["role"], content=m["content"]) for m in messages],
            json_schema=self.schema,
            max_tokens=self.max_tokens,
            top_logprobs=self.top_logprobs,
        )
        try:
            response = self.llm.complete(request)
        except InvalidGrammarError as exc:
            if self.schema is ANY_JSON_OBJECT:
                raise
            log.warning(
                "%s: %s (%s); asking without the answer's grammar",
                self.question_id,
                exc.message,
                exc.details.get("fragment", ""),
            )
            self.schema = ANY_JSON_OBJECT
            response = self.llm.complete(request.model_copy(update={"json_schema": self.schema}))
        self.responses.append(response)
        return ChatCompletion.model_validate(
            {
                "id": f"answer-{len(self.responses)}",
                "object": "chat.completion",
                "created": 0,
                "model": response.model,
                "choices": [
                    {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": response.content}}
                ],
            }
        )


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
    """Up to ``1 + max_reasks`` asks of the same model; when they run out, the last answer that parsed comes
    back with the check's complaint (``unresolved``) for the caller to repair or drop."""
    instructor, provider, patch = _instructor_mode()
    port = _Port(llm, schema, max_tokens, top_logprobs, question_id)
    mode = instructor.Mode.JSON_SCHEMA
    create = patch(func=port, provider=provider, mode=mode)
    client = instructor.Instructor(client=None, create=create, mode=mode, provider=provider)
    value: T | None = None
    problem = ""
    try:
        value = client.chat.completions.create(
            model=model,
            messages=[m.model_dump() for m in messages],
            response_model=_checked(output, check),
            max_retries=max_reasks,  # re-asks after the first ask
        )
    except instructor.core.InstructorRetryException as exc:
        if isinstance(exc.__cause__, LLMSentimentError) or not port.responses:
            raise (exc.__cause__ or exc) from None
        value, problem = _last_parsed(port.responses, output, check)
    tally = _Tally()
    for response in port.responses:
        tally.add(response)
    last = port.responses[-1]
    provenance = Provenance(
        question_id=question_id,
        template_id=template.meta.id,
        template_version=template.meta.version,
        template_hash=template.sha256[:16],
        model_requested=model,
        model_used=last.model,
        fallbacks_tried=tally.fallbacks,
        cache_hit=tally.cache_hit,
        prompt_tokens=tally.prompt_tokens,
        completion_tokens=tally.completion_tokens,
        latency_s=round(tally.latency_s, 3),
        asks=len(port.responses),
    )
    if value is None:
        raise InvalidAnswerError(
            f"{question_id}: {last.model} gave no valid answer in {len(port.responses)} tries: {problem}",
            hint="Try another model (--model) or a prompt version whose output it can follow.",
            last_answer=last.content[:500],
        )
    answered_by = next((r for r in reversed(port.responses) if _parses(r, output)), last)
    return Answered(value=value, response=answered_by, provenance=provenance, unresolved=problem or None)


def _parses(response: LLMResponse, output: type[BaseModel]) -> bool:
    try:
        output.model_validate_json(response.content)
    except ValidationError:
        return False
    return True


def _last_parsed(responses: list[LLMResponse], output: type[T], check: Check[T] | None) -> tuple[T | None, str]:
    """Re-asks ran out: the latest answer that parses (its check's complaint with it), else why none parsed."""
    for response in reversed(responses):
        try:
            value = output.model_validate_json(response.content)
        except ValidationError:
            continue
        return value, (check(value) if check else None) or "the check failed"
    try:
        output.model_validate_json(responses[-1].content)
    except ValidationError as exc:
        return None, _problem(exc)
    return None, ""
