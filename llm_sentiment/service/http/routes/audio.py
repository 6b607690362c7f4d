"""Recordings: a call's audio, streamed to disk and sniffed before anything is decoded."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response

from llm_sentiment.errors import InvalidParameterError, UnknownFormatError
from llm_sentiment.service.http.deps import IdempotencyKey, Ingest, ServiceDep
from llm_sentiment.service.http.errors import error_responses
from llm_sentiment.service.http.schemas import JobResponse, audio_schema
from llm_sentiment.service.http.submit import accept_recording, accepted
from llm_sentiment.service.http.uploads import Spool, media_type, receive_multipart
from llm_sentiment.speech.recording import limits_for

router = APIRouter()


@router.post(
    "/v1/audio/ingest",
    status_code=202,
    response_model=JobResponse,
    tags=["jobs"],
    openapi_extra=audio_schema(),
    responses=error_responses(413, 415),
)
async def ingest_audio(
    request: Request,
    response: Response,
    service: ServiceDep,
    principal: Ingest,
    idempotency_key: IdempotencyKey = None,
) -> JobResponse:
    """Submit a call recording (multipart `file`), streamed to disk and sniffed before anything is decoded."""
    content_type = media_type(request)
    if content_type != "multipart/form-data":
        raise UnknownFormatError(
            f"unsupported content type {content_type!r}",
            hint="Send multipart/form-data with the recording as the `file` part.",
        )
    writer = await asyncio.to_thread(service.blobs.writer, limits_for(service.settings.speech_options()).max_bytes)
    spool = Spool(writer)
    try:
        parts = await receive_multipart(request, spool)
        if not parts.has_file:
            raise InvalidParameterError("body.file", "missing: send the recording as the `file` part")
    except BaseException:
        await spool.discard()
        raise
    job, created = await asyncio.to_thread(accept_recording, service, principal, writer, parts, idempotency_key)
    return accepted(response, job, created)
