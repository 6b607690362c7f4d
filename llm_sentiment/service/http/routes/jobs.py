"""A tenant's jobs: list them, read one's status, delete one with everything kept of it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from llm_sentiment.errors import JobNotFoundError
from llm_sentiment.service.http.deps import Ingest, JobId, Reader, ServiceDep, tenant_job
from llm_sentiment.service.http.errors import error_responses
from llm_sentiment.service.http.schemas import JobList, JobResponse, job_response
from llm_sentiment.service.store import JobStatus

router = APIRouter()


@router.get("/v1/jobs", response_model=JobList, tags=["jobs"], responses=error_responses())
def list_jobs(
    service: ServiceDep,
    principal: Reader,
    status: Annotated[JobStatus | None, Query(description="Only jobs in this state.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[str | None, Query(max_length=64, description="`next_before` of the previous page.")] = None,
) -> JobList:
    """Your tenant's jobs, newest first."""
    found = service.store.for_tenant(principal.tenant_id, status=status, limit=limit, before=before)
    return JobList(jobs=[job_response(job) for job in found], next_before=found[-1].id if len(found) == limit else None)


@router.get("/v1/jobs/{job_id}", response_model=JobResponse, tags=["jobs"], responses=error_responses(404))
def get_job(job_id: JobId, service: ServiceDep, principal: Reader) -> JobResponse:
    """Status, stage and progress of a job; its error code and message if it failed."""
    return job_response(tenant_job(service, principal, job_id))


@router.delete("/v1/jobs/{job_id}", status_code=204, tags=["jobs"], responses=error_responses(404))
def delete_job(job_id: JobId, service: ServiceDep, principal: Ingest) -> Response:
    """Delete a job, its results, its stored input and what the caches hold of it (a running job is stopped)."""
    job = service.store.delete(job_id, principal.tenant_id)
    if job is None:
        raise JobNotFoundError(f"no job {job_id!r}")
    service.maintenance.release_input(job.input_sha256)
    return Response(status_code=204)
