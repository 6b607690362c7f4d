"""What routes depend on: the service, the caller's key and its scope, the fair LLM queue, and the
caller's jobs and their stored results (another tenant's job is indistinguishable from none)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, TypeVar, cast

from fastapi import Depends, Header, Path, Request
from fastapi.security import APIKeyHeader

from llm_sentiment.errors import JobFailedError, JobNotAnalyzedError, JobNotFoundError, JobNotReadyError
from llm_sentiment.service.auth import Principal, key_from_header
from llm_sentiment.service.auth import Scope as KeyScope
from llm_sentiment.service.fair_queue import FairQueue
from llm_sentiment.service.store import Job
from llm_sentiment.service.wiring import Service
from llm_sentiment.transcript.model import Transcript

T = TypeVar("T")

_api_key = APIKeyHeader(
    name="Authorization",
    auto_error=False,
    description="`Bearer <key>`, `Token <key>` or the bare key (as the AssemblyAI and Deepgram SDKs send it).",
)


def get_service(request: Request) -> Service:
    return cast(Service, request.app.state.service)


ServiceDep = Annotated[Service, Depends(get_service)]


def _principal(scope: KeyScope) -> Callable[..., Principal]:
    def dependency(service: ServiceDep, authorization: Annotated[str | None, Depends(_api_key)]) -> Principal:
        principal = service.keys.authenticate(key_from_header(authorization))
        service.limiter.check(principal.key_id)
        principal.require(scope)
        return principal

    return dependency


Ingest = Annotated[Principal, Depends(_principal("ingest"))]
Reader = Annotated[Principal, Depends(_principal("insights:read"))]
Admin = Annotated[Principal, Depends(_principal("admin"))]
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=1, max_length=255, description="Retries return the same job."),
]


JobId = Annotated[str, Path(min_length=1, max_length=64, description="The job id returned on submission.")]


async def in_llm_pool(request: Request, principal: Principal, work: Callable[[], T]) -> T:
    """LLM work waits in the fair queue, per key, and runs on its threads, never those other routes need."""
    queue = cast(FairQueue, request.app.state.llm_queue)
    return await asyncio.wrap_future(queue.submit(principal.key_id, work))


def tenant_job(service: Service, principal: Principal, job_id: str) -> Job:
    """The caller's job: another tenant's answers exactly like one that does not exist."""
    job = service.store.get(job_id, principal.tenant_id)
    if job is None:
        raise JobNotFoundError(f"no job {job_id!r}")
    return job


def require_completed(job: Job) -> None:
    """Results are read only from a completed job: a failed one answers its error, a running one not ready."""
    if job.status == "error":
        raise JobFailedError(f"job {job.id} failed: [{job.error_code}] {job.error_message}", job_code=job.error_code)
    if job.status != "completed":
        raise JobNotReadyError(
            f"job {job.id} is still {job.status} (stage {job.stage}, {job.progress:.0%})",
            hint="Poll GET /v1/jobs/{job_id} or pass webhook_url.",
        )


def stored_analysis(service: Service, principal: Principal, job_id: str) -> tuple[Job, str]:
    """The stored analysis JSON; a job run with ``pipeline=transcribe`` has none to give."""
    job = tenant_job(service, principal, job_id)
    require_completed(job)
    if job.pipeline != "full-analysis":
        raise JobNotAnalyzedError(
            f"job {job.id} was processed with pipeline={job.pipeline}",
            hint="Submit it again with pipeline=full-analysis.",
        )
    stored = service.store.result(job.id, principal.tenant_id, "analysis")
    if stored is None:
        raise JobNotReadyError(f"job {job.id} has no analysis")
    return job, stored


def stored_transcript(service: Service, principal: Principal, job: Job) -> Transcript:
    """A transcript is stored once the input is read, so it can be read before the job completes."""
    stored = service.store.result(job.id, principal.tenant_id, "transcript")
    if stored is None:
        require_completed(job)
        raise JobNotReadyError(f"job {job.id} has no transcript")
    return Transcript.model_validate_json(stored)
