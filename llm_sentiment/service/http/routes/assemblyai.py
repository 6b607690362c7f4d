"""AssemblyAI's endpoints over our jobs, so its SDK runs unchanged against a self-hosted service:
``POST /v2/upload`` (the raw recording as the body), ``POST /v2/transcript``,
``GET /v2/transcript/{id}`` with AssemblyAI's status values and, for ``sentiment_analysis``,
``sentiment_analysis_results[]`` (the ``assemblyai`` view of the stored analysis). An
``audio_url`` is never fetched: it must be an upload URL this server handed to the same tenant.

Errors on these routes come in AssemblyAI's body shape ``{"error": message}`` (bad requests are
400, as AssemblyAI answers).
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from llm_sentiment.analysis.result import Analysis
from llm_sentiment.errors import InvalidParameterError, JobNotFoundError
from llm_sentiment.service.auth import Principal
from llm_sentiment.service.http.deps import Ingest, Reader, ServiceDep, tenant_job
from llm_sentiment.service.http.errors import ErrorDetail, ErrorShape, scrub_paths, vendor_message
from llm_sentiment.service.http.schemas import AudioParameters
from llm_sentiment.service.http.submit import check_parameters, create_job
from llm_sentiment.service.http.uploads import Spool
from llm_sentiment.service.store import Job
from llm_sentiment.service.wiring import Service
from llm_sentiment.speech.audio import probe
from llm_sentiment.speech.recording import limits_for
from llm_sentiment.transcript.model import Segment, Transcript
from llm_sentiment.views.vendors import assemblyai as assemblyai_view

router = APIRouter()

UPLOAD_PATH = "/v2/upload"
RECORDING_PATHS = (UPLOAD_PATH,)
"""Routes whose body is a recording (the larger ``MAX_AUDIO_MB`` limit applies)."""
_UPLOAD_URL = re.compile(r"^/v2/upload/(upl_[0-9a-f]{32})$")


def _error(status: int, detail: ErrorDetail) -> tuple[int, dict[str, Any]]:
    return (400 if status == 422 else status), {"error": vendor_message(detail)}


ERROR_SHAPE: tuple[str, ErrorShape] = ("/v2/", _error)
"""Errors under ``/v2/`` in AssemblyAI's shape (``create_app`` wires it)."""


class UploadResponse(BaseModel):
    upload_url: str = Field(description="Pass as `audio_url` to POST /v2/transcript (this tenant only).")


class TranscriptRequest(BaseModel):
    """AssemblyAI's transcript request; options we do not act on are accepted and ignored, as the SDK
    sends its defaults."""

    model_config = ConfigDict(extra="allow")

    audio_url: str = Field(max_length=2000, description="An `upload_url` from POST /v2/upload; never fetched.")
    sentiment_analysis: bool = Field(False, description="Run the full analysis; results per sentence.")
    speaker_labels: bool = Field(False, description="Speakers are always labelled (channels or voices).")
    language_code: str | None = Field(None, max_length=20, description="e.g. en_us; default: detected.")
    webhook_url: str | None = Field(None, max_length=2000, description="Gets our signed job webhook when done.")


_TRANSCRIPT_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "AssemblyAI's transcript object",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}
_AAI_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {
        "description": text,
        "content": {
            "application/json": {
                "schema": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}
            }
        },
    }
    for status, text in {
        400: "Bad request",
        401: "Missing or invalid API key",
        403: "The key lacks the permission",
        404: "Unknown transcript",
        413: "Recording too large",
        415: "Not a supported recording",
        429: "Rate limited",
    }.items()
}


def _store_upload(service: Service, principal: Principal, spool: Spool) -> str:
    limits = limits_for(service.settings.speech_options())

    def sniffed(path: Path) -> None:
        probe(path, limits, name="the upload")

    sha256, size = spool.writer.commit(check=sniffed)
    return service.store.add_upload(principal.tenant_id, sha256, size, service.settings.retention_hours * 3600)


@router.post(
    UPLOAD_PATH,
    response_model=UploadResponse,
    tags=["assemblyai"],
    responses=_AAI_ERRORS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def upload(request: Request, service: ServiceDep, principal: Ingest) -> UploadResponse:
    """AssemblyAI's upload: the recording as the raw body, sniffed before it is kept."""
    writer = await asyncio.to_thread(service.blobs.writer, limits_for(service.settings.speech_options()).max_bytes)
    spool = Spool(writer)
    try:
        async for chunk in request.stream():
            spool.add(chunk)
            await spool.drain()
        await spool.drain(final=True)
    except BaseException:
        await spool.discard()
        raise
    upload_id = await asyncio.to_thread(_store_upload, service, principal, spool)
    return UploadResponse(upload_url=f"{str(request.base_url).rstrip('/')}{UPLOAD_PATH}/{upload_id}")


def _language(code: str | None) -> str | None:
    """AssemblyAI's ``en_us`` is Whisper's ``en``."""
    return code.split("_")[0].lower() if code else None


def _submit(service: Service, principal: Principal, body: TranscriptRequest) -> Job:
    match = _UPLOAD_URL.match(urlsplit(body.audio_url).path)
    if match is None:
        raise InvalidParameterError(
            "body.audio_url",
            "audio_url must be an upload_url from POST /v2/upload on this server: other URLs are never fetched",
        )
    found = service.store.upload(match.group(1), principal.tenant_id)
    if found is None:
        raise InvalidParameterError("body.audio_url", "no such upload (it expired, or belongs to another key)")
    language = _language(body.language_code)
    try:
        params = AudioParameters(
            pipeline="full-analysis" if body.sentiment_analysis else "transcribe",
            language=language,
            webhook_url=body.webhook_url,
        )
    except ValueError:
        raise InvalidParameterError("body.language_code", f"unknown language {body.language_code!r}") from None
    check_parameters(service, params)
    job, _created = create_job(service, principal, "audio", found, body.audio_url[:300], params, None)
    return job


def _ms(seconds: float | None) -> int:
    return round((seconds or 0.0) * 1000)


def _confidence(segment: Segment) -> float:
    known = [w.probability for w in segment.words or [] if w.probability is not None]
    return round(sum(known) / len(known), 4) if known else 0.0


def _words(segment: Segment) -> list[dict[str, Any]]:
    channel = None if segment.channel is None else str(segment.channel)
    return [
        {
            "text": w.text.strip(),
            "start": _ms(w.start),
            "end": _ms(w.end),
            "confidence": w.probability if w.probability is not None else 0.0,
            "speaker": segment.speaker,
            "channel": channel,
        }
        for w in segment.words or []
    ]


def transcript_body(service: Service, principal: Principal, job: Job) -> dict[str, Any]:
    """A job as AssemblyAI's transcript object (``queued|processing|completed|error``)."""
    body: dict[str, Any] = {
        "id": job.id,
        "status": job.status,
        "audio_url": job.input_name or "",
        "language_code": job.options.language,
        "speaker_labels": True,
        "sentiment_analysis": job.pipeline == "full-analysis",
        "error": scrub_paths(f"[{job.error_code}] {job.error_message}") if job.status == "error" else None,
    }
    if job.status != "completed":
        return body
    stored = service.store.result(job.id, principal.tenant_id, "transcript")
    if stored is None:
        return body
    transcript = Transcript.model_validate_json(stored)
    words = [w for s in transcript.segments for w in _words(s)]
    body.update(
        text=" ".join(s.text for s in transcript.segments),
        language_code=transcript.language or job.options.language,
        audio_duration=round(transcript.duration) if transcript.duration is not None else None,
        words=words,
        confidence=round(sum(w["confidence"] for w in words) / len(words), 4) if words else None,
        utterances=[
            {
                "text": s.text,
                "start": _ms(s.start),
                "end": _ms(s.end),
                "confidence": _confidence(s),
                "speaker": s.speaker,
                "channel": None if s.channel is None else str(s.channel),
                "words": _words(s),
            }
            for s in transcript.segments
        ],
    )
    if job.pipeline == "full-analysis":
        analysis = service.store.result(job.id, principal.tenant_id, "analysis")
        if analysis is not None:
            view = assemblyai_view(Analysis.model_validate_json(analysis), source=body["audio_url"])
            body["sentiment_analysis_results"] = view["sentiment_analysis_results"]
            body["time_basis"] = view["time_basis"]
    return body


def _json(body: dict[str, Any]) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), media_type="application/json")


@router.post(
    "/v2/transcript",
    tags=["assemblyai"],
    response_model=None,
    responses={**_TRANSCRIPT_RESPONSE, **_AAI_ERRORS},
)
def create_transcript(body: TranscriptRequest, service: ServiceDep, principal: Ingest) -> Response:
    """Transcribe an upload (and with `sentiment_analysis`, analyse it); poll GET /v2/transcript/{id}."""
    job = _submit(service, principal, body)
    return _json(transcript_body(service, principal, job))


@router.get(
    "/v2/transcript/{transcript_id}",
    tags=["assemblyai"],
    response_model=None,
    responses={**_TRANSCRIPT_RESPONSE, **_AAI_ERRORS},
)
def get_transcript(transcript_id: str, service: ServiceDep, principal: Reader) -> Response:
    """The transcript (with `sentiment_analysis_results` once a `sentiment_analysis` job completes)."""
    if len(transcript_id) > 64:
        raise JobNotFoundError(f"no transcript {transcript_id[:64]!r}")
    job = tenant_job(service, principal, transcript_id)
    return _json(transcript_body(service, principal, job))
