"""The OpenAI-shaped LLM gateway, with a job's transcript filled into the messages."""

from __future__ import annotations

from contextlib import nullcontext

from fastapi import APIRouter, Request

from llm_sentiment._util.jsoncache import tagged
from llm_sentiment.errors import ConfigError, InvalidParameterError
from llm_sentiment.service.auth import Principal
from llm_sentiment.service.gateway import ChatCompletion, ChatCompletionRequest, complete, needs_transcript
from llm_sentiment.service.http.deps import Reader, ServiceDep, in_llm_pool, stored_transcript, tenant_job
from llm_sentiment.service.http.errors import error_responses
from llm_sentiment.service.store import Job
from llm_sentiment.service.wiring import Service
from llm_sentiment.transcript.model import Transcript

router = APIRouter()


def _chat(service: Service, principal: Principal, body: ChatCompletionRequest) -> ChatCompletion:
    transcript: Transcript | None = None
    job: Job | None = None
    if needs_transcript(body):
        if body.transcript_id is None:
            raise InvalidParameterError("body.transcript_id", "required when a message contains {{ transcript }}")
        job = tenant_job(service, principal, body.transcript_id)
        transcript = stored_transcript(service, principal, job)
    elif body.transcript_id is not None:
        job = tenant_job(service, principal, body.transcript_id)
    try:
        service.router_config.resolve(body.model)
    except ConfigError as exc:
        raise InvalidParameterError("body.model", exc.message, hint=exc.hint) from None
    with tagged(job.input_sha256) if job is not None else nullcontext():
        return complete(service.llm, service.router_config, body, transcript)


@router.post(
    "/v1/chat/completions",
    response_model=ChatCompletion,
    tags=["llm gateway"],
    responses=error_responses(404, 409, 502, 503),
)
async def chat_completions(
    body: ChatCompletionRequest, request: Request, service: ServiceDep, principal: Reader
) -> ChatCompletion:
    """OpenAI-shaped chat completion; `{{ transcript }}` is replaced by the transcript of `transcript_id`."""
    return await in_llm_pool(request, principal, lambda: _chat(service, principal, body))
