"""Transcripts: submit one for a job (JSON or a file upload), read a job's transcript with roles."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response
from starlette.datastructures import UploadFile

from llm_sentiment.errors import InvalidParameterError, UnknownFormatError
from llm_sentiment.service.http.deps import (
    IdempotencyKey,
    Ingest,
    JobId,
    Reader,
    ServiceDep,
    stored_transcript,
    tenant_job,
)
from llm_sentiment.service.http.errors import error_responses
from llm_sentiment.service.http.schemas import JobResponse, TranscriptResponse, submission_schema
from llm_sentiment.service.http.submit import accept_json, accept_upload, accepted
from llm_sentiment.service.http.uploads import media_type

router = APIRouter()


@router.post(
    "/v1/transcripts",
    status_code=202,
    response_model=JobResponse,
    tags=["jobs"],
    openapi_extra=submission_schema(),
    responses=error_responses(413, 415),
)
async def submit_transcript(
    request: Request,
    response: Response,
    service: ServiceDep,
    principal: Ingest,
    idempotency_key: IdempotencyKey = None,
) -> JobResponse:
    """Submit a transcript (JSON body, or a file upload as multipart `file`) for a job."""
    content_type = media_type(request)
    if content_type == "multipart/form-data":
        async with request.form(max_files=1, max_fields=20) as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise InvalidParameterError("body.file", "missing: send the transcript file as the `file` part")
            fields = {k: v for k, v in form.items() if isinstance(v, str)}
            data = await upload.read()
            name = (upload.filename or "")[:300] or None
        job, created = await asyncio.to_thread(accept_upload, service, principal, data, name, fields, idempotency_key)
    elif content_type in ("application/json", ""):
        body = await request.body()
        job, created = await asyncio.to_thread(accept_json, service, principal, body, idempotency_key)
    else:
        raise UnknownFormatError(
            f"unsupported content type {content_type!r}",
            hint="Send application/json or multipart/form-data with a `file` part.",
        )
    return accepted(response, job, created)


@router.get(
    "/v1/transcripts/{job_id}", response_model=TranscriptResponse, tags=["results"], responses=error_responses(404, 409)
)
def get_transcript(job_id: JobId, service: ServiceDep, principal: Reader) -> TranscriptResponse:
    """The job's transcript with speaker roles (available as soon as the input is read)."""
    job = tenant_job(service, principal, job_id)
    return TranscriptResponse(job_id=job.id, status=job.status, transcript=stored_transcript(service, principal, job))
