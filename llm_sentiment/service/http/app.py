"""The HTTP API (FastAPI): jobs, transcripts, recordings, analyses, insights, questions, the LLM
gateway, health and metrics (the vendors' endpoints are in ``vendor_api``).

No LLM, parsing, database or file work runs on the event loop: plain ``def`` routes and
dependencies run in the thread pool, LLM calls in a fair, bounded queue of their own, jobs in the
workers. Errors are the service's error hierarchy, each class with its HTTP status, in one
body shape: ``{"error": {"code", "message", "hint"?, "field"?, "details"?}}`` (the vendors' routes
answer in their vendor's shape instead, see ``ERROR_SHAPES``). Uploads are streamed to the input
store as they arrive, never held whole in memory.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import re
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal, TypeVar, cast

from fastapi import APIRouter, Depends, FastAPI, Header, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader
from fastapi_offline import FastAPIOffline
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from llm_sentiment import __version__
from llm_sentiment.analysis.result import Analysis, CustomAnswer, Provenance, Warning
from llm_sentiment.analysis.scoring import Thresholds
from llm_sentiment.ask.answers import UserQuestion, number_questions
from llm_sentiment.ask.prompts import PromptSet, prompt_versions
from llm_sentiment.errors import (
    ConfigError,
    InputError,
    InputTooLargeError,
    InvalidParameterError,
    JobFailedError,
    JobNotAnalyzedError,
    JobNotFoundError,
    JobNotReadyError,
    LLMSentimentError,
    QueueFullError,
    QueueUnavailableError,
    RateLimitedError,
    TemplateError,
    UnauthorizedError,
    UnknownFormatError,
)
from llm_sentiment.llm.base import LLMClient
from llm_sentiment.llm.cached import tagged
from llm_sentiment.roles.rules import assign_roles, parse_channels_spec, parse_roles_spec
from llm_sentiment.service.auth import Principal, key_from_header
from llm_sentiment.service.auth import Scope as KeyScope
from llm_sentiment.service.blobs import BlobWriter
from llm_sentiment.service.fair_queue import FairQueue
from llm_sentiment.service.gateway import ChatCompletion, ChatCompletionRequest, complete, needs_transcript
from llm_sentiment.service.store import InputKind, Job, JobOptions, JobStatus, NewJob, Pipeline, Stage
from llm_sentiment.service.webhooks import check_url
from llm_sentiment.service.wiring import Service
from llm_sentiment.settings import Settings
from llm_sentiment.speech.audio import probe
from llm_sentiment.speech.recording import limits_from
from llm_sentiment.transcript.formats import INPUT_FORMATS, InputFormat, parse_transcript
from llm_sentiment.transcript.model import Transcript
from llm_sentiment.views.vendors import GRANULARITIES, INSIGHT_TYPES, SPEAKERS, VIEWS, Granularity, InsightType, Speaker
from llm_sentiment.views.vendors import assemblyai as assemblyai_view
from llm_sentiment.views.vendors import deepgram as deepgram_view
from llm_sentiment.views.vendors import insights as insights_view

log = logging.getLogger(__name__)

T = TypeVar("T")


class ErrorDetail(BaseModel):
    code: str
    message: str
    hint: str | None = None
    field: str | None = None
    details: dict[str, Any] | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


ErrorShape = Callable[[int, ErrorDetail], tuple[int, dict[str, Any]]]
"""An error in a vendor's shape: (status, body) from our status and detail."""

ERROR_SHAPES: list[tuple[str, ErrorShape]] = []
"""(path prefix, shape): routes under the prefix answer errors in that shape (``vendor_api`` adds them)."""


_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/~-])/[^\s'\"`,;:()\[\]{}<>]+")


def scrub_paths(text: str) -> str:
    """Absolute paths of this server's files (those that exist, or lie in a directory that does) cut
    to their last part, so no answer says where the server keeps its files."""

    def cut(match: re.Match[str]) -> str:
        path = FilePath(match.group(0))
        on_server = any(p.exists() for p in (path, *path.parents[:-1]))
        return f"…/{path.name}" if on_server else match.group(0)

    return _ABSOLUTE_PATH.sub(cut, text)


def _scrubbed(value: Any) -> Any:
    if isinstance(value, str):
        return scrub_paths(value)
    if isinstance(value, dict):
        return {key: _scrubbed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrubbed(item) for item in value]
    return value


def _error_response(
    status: int, detail: ErrorDetail, headers: Mapping[str, str] | None = None, path: str = ""
) -> JSONResponse:
    detail = ErrorDetail.model_validate(_scrubbed(detail.model_dump()))
    shape = next((shape for prefix, shape in ERROR_SHAPES if path.startswith(prefix)), None)
    if shape is not None:
        status, body = shape(status, detail)
    else:
        body = ErrorBody(error=detail).model_dump(mode="json", exclude_none=True)
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


def error_response(error: LLMSentimentError, path: str = "", status: int | None = None) -> JSONResponse:
    details = {k: v for k, v in error.details.items() if k != "field"}
    headers: dict[str, str] = {}
    if isinstance(error, RateLimitedError | QueueFullError):
        headers["Retry-After"] = str(max(1, math.ceil(error.retry_after_s)))
    if isinstance(error, UnauthorizedError):
        headers["WWW-Authenticate"] = "Bearer"
    detail = ErrorDetail(
        code=error.code,
        message=error.message,
        hint=error.hint,
        field=error.details.get("field"),
        details=details or None,
    )
    return _error_response(status or error.http_status, detail, headers, path)


# ---- request and response models ---------------------------------------------------------


class CallParameters(BaseModel):
    """How to analyse a call; the same choices as ``llm-sentiment analyze``."""

    model_config = ConfigDict(extra="forbid")

    pipeline: Pipeline = Field(
        "full-analysis", description="`transcribe`: transcript only; `full-analysis`: also analyse."
    )
    roles: str | None = Field(None, max_length=500, description='Speaker roles, e.g. "Rep=agent,Caller=customer".')
    model: str | None = Field(None, max_length=200, description="Model group from the router config.")
    prompts: str | None = Field(None, max_length=100, description="Prompt version, e.g. v5.")
    questions: list[UserQuestion] = Field(default_factory=list, max_length=20, description="Extra questions.")
    webhook_url: str | None = Field(None, max_length=2000, description="POSTed (signed) when the job finishes.")


class JobParameters(CallParameters):
    """A transcript's job: how to read it, and how to analyse it."""

    input_format: InputFormat = Field("auto", description="Transcript format; auto detects it.")


class AudioParameters(CallParameters):
    """A recording's job: how to transcribe it, and how to analyse it."""

    channels: str | None = Field(
        None, max_length=100, description='Stereo: roles of channel 0 and 1, e.g. "agent,customer" (the default).'
    )
    language: str | None = Field(
        None, pattern=r"^[a-z]{2,3}([-_][A-Za-z]{2,4})?$", description="Spoken language, e.g. en; default: detected."
    )


class TranscriptSubmission(JobParameters):
    transcript: str | dict[str, Any] = Field(
        description="Plain `Speaker: text` lines, or a transcript JSON document (ours, AssemblyAI, Deepgram)."
    )


class QuestionsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    questions: list[UserQuestion] = Field(min_length=1, max_length=20)
    model: str | None = Field(None, max_length=200)
    prompts: str | None = Field(None, max_length=100, description="Prompt version, e.g. v5.")


class QuestionsResponse(BaseModel):
    job_id: str
    answers: list[CustomAnswer]
    provenance: list[Provenance]
    warnings: list[Warning]


class JobError(BaseModel):
    code: str
    message: str


class JobInput(BaseModel):
    kind: InputKind
    sha256: str
    bytes: int
    name: str | None


class JobLinks(BaseModel):
    self: str
    transcript: str
    analysis: str


class JobResponse(BaseModel):
    job_id: str
    status: JobStatus
    stage: Stage
    progress: float = Field(ge=0, le=1)
    pipeline: Pipeline
    input: JobInput
    attempts: int
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    expires_at: datetime | None
    error: JobError | None
    links: JobLinks


class JobList(BaseModel):
    jobs: list[JobResponse]
    next_before: str | None = Field(description="Pass as `before` for the next page; null on the last page.")


class TranscriptResponse(BaseModel):
    job_id: str
    status: JobStatus
    transcript: Transcript


class Check(BaseModel):
    ok: bool
    detail: str | None = None


class Readiness(BaseModel):
    status: Literal["ready", "not ready"]
    checks: dict[str, Check]


class Health(BaseModel):
    status: Literal["ok"]
    version: str


def _time(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value is not None else None


def job_response(job: Job) -> JobResponse:
    return JobResponse(
        job_id=job.id,
        status=job.status,
        stage=job.stage,
        progress=job.progress,
        pipeline=job.pipeline,
        input=JobInput(kind=job.kind, sha256=job.input_sha256, bytes=job.input_bytes, name=job.input_name),
        attempts=job.attempts,
        created_at=datetime.fromtimestamp(job.created_at, UTC),
        updated_at=datetime.fromtimestamp(job.updated_at, UTC),
        started_at=_time(job.started_at),
        completed_at=_time(job.completed_at),
        expires_at=_time(job.expires_at),
        error=JobError(code=job.error_code, message=scrub_paths(job.error_message or "")) if job.error_code else None,
        links=JobLinks(
            self=f"/v1/jobs/{job.id}", transcript=f"/v1/transcripts/{job.id}", analysis=f"/v1/analysis/{job.id}"
        ),
    )


# ---- analysis views ----------------------------------------------------------------------


def _source(job: Job) -> str:
    return job.input_name or f"/v1/jobs/{job.id}"


def render_view(job: Job, analysis: Analysis, view: str, settings: Settings) -> dict[str, Any]:
    """The stored analysis in another service's shape (``views``: no second LLM pass), under the job's id."""
    if view == "assemblyai":
        return {**assemblyai_view(analysis, source=_source(job)), "id": job.id}
    if view == "deepgram":
        body = deepgram_view(analysis)
        body["metadata"]["request_id"] = job.id
        return body
    thresholds = Thresholds(settings.positive_threshold, settings.negative_threshold)
    return {**insights_view(analysis, thresholds=thresholds), "job_id": job.id}


# ---- plumbing ----------------------------------------------------------------------------


class BodyLimit:
    """Refuses a body over ``limit`` bytes with 413: at once from Content-Length, else as it streams in.

    Once the limit is passed no more of the body is read, and whatever the app then tries to answer
    is replaced by the 413, however the app handled the interrupted read.
    """

    def __init__(self, app: ASGIApp, limit: int, recording_limit: int, recording_paths: tuple[str, ...]) -> None:
        self.app = app
        self.limit = limit
        self.recording_limit = recording_limit
        self.recording_paths = recording_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        path = str(scope.get("path", ""))
        recording = path in self.recording_paths
        limit = self.recording_limit if recording else self.limit
        too_large = InputTooLargeError(
            f"the request body is larger than {limit} bytes",
            hint=f"Raise LLM_SENTIMENT_{'MAX_AUDIO_MB' if recording else 'MAX_UPLOAD_BYTES'} or send a smaller file.",
            limit=limit,
        )
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await error_response(too_large, path)(scope, receive, send)
            return
        received = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise too_large
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                if not started:
                    started = True
                    await error_response(too_large, path)(scope, receive, send)
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, limited_receive, guarded_send)


class RequestMetrics:
    """Latency of every request by route template, for /metrics."""

    def __init__(self, app: ASGIApp, service: Service) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            self.service.telemetry.http_seconds.labels(scope["method"], path, str(status)).observe(
                time.perf_counter() - started
            )


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


def _accepted(response: Response, job: Job, created: bool) -> JobResponse:
    """A submission's 202: where to poll, and whether an Idempotency-Key replayed an earlier job."""
    response.headers["Location"] = f"/v1/jobs/{job.id}"
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return job_response(job)


JobId = Annotated[str, Path(min_length=1, max_length=64, description="The job id returned on submission.")]

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in {
        400: "Bad parameter (the field is named)",
        401: "Missing or invalid API key",
        403: "The key lacks the permission",
        404: "Unknown job (or another tenant's)",
        422: "Invalid request body",
        429: "Rate limited (see Retry-After)",
    }.items()
}


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    base: dict[int | str, dict[str, Any]] = {s: _ERRORS[s] for s in (400, 401, 403, 422, 429)}
    for status in statuses:
        base[status] = _ERRORS.get(status, {"model": ErrorBody, "description": "Error"})
    return base


async def _in_llm_pool(request: Request, principal: Principal, work: Callable[[], T]) -> T:
    """LLM work waits in the fair queue, per key, and runs on its threads, never those other routes need."""
    queue = cast(FairQueue, request.app.state.llm_queue)
    return await asyncio.wrap_future(queue.submit(principal.key_id, work))


# ---- submission --------------------------------------------------------------------------


def _validate(service: Service, params: CallParameters) -> None:
    if params.model is not None and params.model not in service.router_config.groups():
        raise InvalidParameterError(
            "body.model",
            f"unknown model {params.model!r}",
            hint=f"Model groups: {', '.join(service.router_config.groups())}.",
        )
    if params.prompts is not None:
        versions = prompt_versions(service.settings.prompts_dir)
        if params.prompts not in versions:
            raise InvalidParameterError(
                "body.prompts", f"unknown prompt version {params.prompts!r}", hint=f"Versions: {', '.join(versions)}."
            )
        try:
            PromptSet(service.settings.prompts_dir, params.prompts)
        except TemplateError as exc:
            raise InvalidParameterError("body.prompts", exc.message, hint=exc.hint) from None
    if params.roles is not None:
        parse_roles_spec(params.roles)
    if params.webhook_url is not None:
        check_url(params.webhook_url, service.settings.webhook_allow_private)
    if isinstance(params, AudioParameters) and params.channels is not None:
        try:
            parse_channels_spec(params.channels)
        except InputError as exc:
            raise InvalidParameterError("body.channels", exc.message, hint=exc.hint) from None


def _request_hash(kind: str, sha256: str, params: CallParameters) -> str:
    payload = json.dumps(
        {"kind": kind, "input": sha256, "params": params.model_dump(mode="json")}, sort_keys=True
    ).encode()
    return hashlib.sha256(payload).hexdigest()


def _accept_transcript(
    service: Service,
    principal: Principal,
    data: bytes,
    name: str | None,
    params: JobParameters,
    idempotency_key: str | None,
) -> tuple[Job, bool]:
    """Check everything, store the input, create the job: a refused request leaves nothing behind."""
    _validate(service, params)
    transcript = parse_transcript(data, params.input_format)
    assign_roles(transcript, parse_roles_spec(params.roles) if params.roles else None)
    sha256, size = service.blobs.put(data, service.settings.max_upload_bytes)
    return create_job(service, principal, "transcript", (sha256, size), name, params, idempotency_key)


def create_job(
    service: Service,
    principal: Principal,
    kind: InputKind,
    stored: tuple[str, int],
    name: str | None,
    params: CallParameters,
    idempotency_key: str | None,
) -> tuple[Job, bool]:
    """The job over a stored input (removed again if the job cannot be created), dispatched to the workers."""
    sha256, size = stored
    audio = params if isinstance(params, AudioParameters) else None
    new = NewJob(
        tenant_id=principal.tenant_id,
        kind=kind,
        pipeline=params.pipeline,
        input_sha256=sha256,
        input_bytes=size,
        input_name=name,
        options=JobOptions(
            input_format=params.input_format if isinstance(params, JobParameters) else "audio",
            roles=params.roles,
            model=params.model,
            prompts_version=params.prompts,
            questions=number_questions(params.questions),
            language=audio.language if audio else None,
            channels=audio.channels if audio else None,
        ),
        webhook_url=params.webhook_url,
        idempotency_key=idempotency_key,
        request_hash=_request_hash(kind, sha256, params),
    )
    try:
        job, created = service.store.create(new)
    except BaseException:
        if not service.store.input_in_use(sha256):
            service.blobs.remove(sha256)
        raise
    if created:
        try:
            service.dispatch(job.id)
        except QueueUnavailableError as exc:
            log.warning("job %s stored but not dispatched yet: %s", job.id, exc.message)
    return job, created


def _validation_error(exc: ValidationError, prefix: str) -> RequestValidationError:
    """A body that does not fit its model answers 422, like the bodies FastAPI validates itself."""
    return RequestValidationError(
        [{**error, "loc": (prefix, *error["loc"])} for error in exc.errors(include_url=False, include_context=False)]
    )


P = TypeVar("P", bound=CallParameters)


def _form_parameters(form: dict[str, str], model: type[P]) -> P:
    raw: dict[str, Any] = dict(form)
    if "questions" in raw:
        try:
            raw["questions"] = json.loads(raw["questions"])
        except json.JSONDecodeError:
            raise InvalidParameterError(
                "body.questions", "must be a JSON list of {question, context, answer_format}"
            ) from None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise _validation_error(exc, "body") from None


def _accept_upload(
    service: Service,
    principal: Principal,
    data: bytes,
    name: str | None,
    fields: dict[str, str],
    idempotency_key: str | None,
) -> tuple[Job, bool]:
    return _accept_transcript(service, principal, data, name, _form_parameters(fields, JobParameters), idempotency_key)


def _accept_json(service: Service, principal: Principal, body: bytes, idempotency_key: str | None) -> tuple[Job, bool]:
    """Parsing a large body is CPU work: it runs here, in a worker thread, not on the event loop."""
    try:
        submission = TranscriptSubmission.model_validate_json(body)
    except ValidationError as exc:
        raise _validation_error(exc, "body") from None
    params = JobParameters.model_validate(submission.model_dump(exclude={"transcript"}))
    return _accept_transcript(
        service, principal, _transcript_bytes(submission.transcript), None, params, idempotency_key
    )


class Spool:
    """Streams a request's bytes into the input store, writing from a worker thread in large blocks."""

    def __init__(self, writer: BlobWriter, block: int = 1 << 20) -> None:
        self.writer = writer
        self.block = block
        self._pending = bytearray()

    def add(self, data: bytes | bytearray | memoryview) -> None:
        self._pending.extend(data)

    async def drain(self, *, final: bool = False) -> None:
        if len(self._pending) >= self.block or (final and self._pending):
            data = bytes(self._pending)
            self._pending.clear()
            await asyncio.to_thread(self.writer.write, data)

    async def discard(self) -> None:
        self._pending.clear()
        await asyncio.to_thread(self.writer.discard)


_MAX_FIELD_BYTES = 64 << 10
_MAX_FIELDS = 20


class _Multipart:
    """One multipart/form-data body, parsed as it streams in: the ``file`` part goes to the spool,
    the other parts are small text fields."""

    def __init__(self, spool: Spool) -> None:
        self.spool = spool
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self.has_file = False
        self._headers: dict[bytes, bytes] = {}
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._name: str | None = None
        self._value = bytearray()
        self._in_file = False

    def callbacks(self) -> dict[str, Callable[..., None]]:
        return {
            "on_part_begin": self._begin,
            "on_header_field": lambda d, a, b: self._header_field.extend(d[a:b]),
            "on_header_value": lambda d, a, b: self._header_value.extend(d[a:b]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_done,
            "on_part_data": self._data,
            "on_part_end": self._end,
        }

    def _begin(self) -> None:
        self._headers.clear()
        self._name, self._in_file = None, False
        self._value.clear()

    def _header_end(self) -> None:
        self._headers[bytes(self._header_field).strip().lower()] = bytes(self._header_value).strip()
        self._header_field.clear()
        self._header_value.clear()

    def _headers_done(self) -> None:
        from python_multipart.multipart import parse_options_header

        _kind, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if name == "file":
            if self.has_file:
                raise InvalidParameterError("body.file", "send one recording per request")
            self.has_file, self._in_file = True, True
            filename = options.get(b"filename")
            self.filename = filename.decode("utf-8", "replace")[:300] or None if filename else None
        elif len(self.fields) >= _MAX_FIELDS:
            raise InvalidParameterError("body", f"too many form fields (at most {_MAX_FIELDS})")
        self._name = name

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self.spool.add(memoryview(data)[start:end])
            return
        self._value.extend(data[start:end])
        if len(self._value) > _MAX_FIELD_BYTES:
            raise InvalidParameterError(f"body.{self._name}", f"longer than {_MAX_FIELD_BYTES} bytes")

    def _end(self) -> None:
        if not self._in_file and self._name is not None:
            try:
                self.fields[self._name] = self._value.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidParameterError(f"body.{self._name}", "not UTF-8 text") from None


async def receive_multipart(request: Request, spool: Spool) -> _Multipart:
    """Parse a multipart body chunk by chunk; the file part never sits whole in memory."""
    from python_multipart.exceptions import FormParserError
    from python_multipart.multipart import MultipartParser, parse_options_header

    _kind, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if not boundary:
        raise InvalidParameterError("header.content-type", "multipart/form-data without a boundary")
    parts = _Multipart(spool)
    parser = MultipartParser(boundary, parts.callbacks())  # type: ignore[arg-type]
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            await spool.drain()
        parser.finalize()
    except FormParserError as exc:
        raise InvalidParameterError("body", f"malformed multipart body: {exc}") from None
    await spool.drain(final=True)
    return parts


def _accept_recording(
    service: Service,
    principal: Principal,
    writer: BlobWriter,
    parts: _Multipart,
    idempotency_key: str | None,
) -> tuple[Job, bool]:
    """Parameters first, then the recording sniffed and size-checked by ``audio.probe``: nothing is
    stored unless both pass. Decoding (duration, channels) happens in the worker."""
    try:
        params = _form_parameters(parts.fields, AudioParameters)
        _validate(service, params)
    except BaseException:
        writer.discard()
        raise
    name = parts.filename or "recording"
    limits = limits_from(service.settings)

    def sniffed(path: FilePath) -> None:
        probe(path, limits, name=name)

    stored = writer.commit(check=sniffed)
    return create_job(service, principal, "audio", stored, parts.filename, params, idempotency_key)


def _transcript_bytes(value: str | dict[str, Any]) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else json.dumps(value, ensure_ascii=False).encode("utf-8")


def _form_fields(model: type[CallParameters]) -> dict[str, dict[str, Any]]:
    fields: dict[str, dict[str, Any]] = {
        name: {"type": "string", "description": str(field.description or "")}
        for name, field in model.model_fields.items()
        if name not in ("questions",)
    }
    fields["pipeline"]["enum"] = ["transcribe", "full-analysis"]
    fields["questions"] = {"type": "string", "description": "JSON list of {question, context, answer_format}."}
    return fields


def _audio_schema() -> dict[str, Any]:
    form_fields = _form_fields(AudioParameters)
    form_fields["language"]["pattern"] = r"^[a-z]{2,3}([-_][A-Za-z]{2,4})?$"
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {
                                "type": "string",
                                "format": "binary",
                                "description": "The recording: wav, flac, mp3, ogg/opus, m4a/mp4 audio or webm.",
                            },
                            **form_fields,
                        },
                    }
                },
            },
        }
    }


def _submission_schema() -> dict[str, Any]:
    form_fields = _form_fields(JobParameters)
    form_fields["input_format"]["enum"] = list(INPUT_FORMATS)
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/TranscriptSubmission"}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {"file": {"type": "string", "format": "binary"}, **form_fields},
                    }
                },
            },
        }
    }


router = APIRouter()


@router.get("/healthz", response_model=Health, tags=["service"])
async def healthz() -> Health:
    """Liveness: answers from the event loop alone, however busy the workers are."""
    return Health(status="ok", version=__version__)


@router.get("/readyz", response_model=Readiness, tags=["service"], responses={503: {"model": Readiness}})
def readyz(service: ServiceDep, response: Response) -> Readiness:
    """Ready when the database and queue answer and the default model is loaded."""
    checks: dict[str, Check] = {}
    try:
        service.store.ping()
        checks["database"] = Check(ok=True)
    except Exception as exc:
        checks["database"] = Check(ok=False, detail=str(exc).splitlines()[0][:200])
    try:
        service.dispatcher.ping()
        checks["queue"] = Check(ok=True, detail="embedded" if service.embedded else "celery")
    except LLMSentimentError as exc:
        checks["queue"] = Check(ok=False, detail=exc.message[:200])
    checks["model"] = Check(
        ok=service.model_state in ("ready", "loaded on first use"), detail=service.model_error or service.model_state
    )
    ready = all(c.ok for c in checks.values())
    if not ready:
        response.status_code = 503
    return Readiness(status="ready" if ready else "not ready", checks=checks)


@router.get(
    "/metrics",
    tags=["service"],
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}, **{s: _ERRORS[s] for s in (401, 403, 429)}},
)
def metrics(service: ServiceDep, _admin: Admin) -> Response:
    """Prometheus metrics (an `admin` key): jobs by state over all tenants, stage latencies, LLM tokens
    and cache hits, HTTP latency by route; nothing names a tenant, key or job."""
    return Response(generate_latest(service.telemetry.registry), media_type=CONTENT_TYPE_LATEST)


def _media_type(request: Request) -> str:
    """The body's media type without parameters (``multipart/form-data; boundary=...`` -> ``multipart/form-data``)."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


@router.post(
    "/v1/transcripts",
    status_code=202,
    response_model=JobResponse,
    tags=["jobs"],
    openapi_extra=_submission_schema(),
    responses=_errors(413, 415),
)
async def submit_transcript(
    request: Request,
    response: Response,
    service: ServiceDep,
    principal: Ingest,
    idempotency_key: IdempotencyKey = None,
) -> JobResponse:
    """Submit a transcript (JSON body, or a file upload as multipart `file`) for a job."""
    content_type = _media_type(request)
    if content_type == "multipart/form-data":
        async with request.form(max_files=1, max_fields=20) as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise InvalidParameterError("body.file", "missing: send the transcript file as the `file` part")
            fields = {k: v for k, v in form.items() if isinstance(v, str)}
            data = await upload.read()
            name = (upload.filename or "")[:300] or None
        job, created = await asyncio.to_thread(_accept_upload, service, principal, data, name, fields, idempotency_key)
    elif content_type in ("application/json", ""):
        body = await request.body()
        job, created = await asyncio.to_thread(_accept_json, service, principal, body, idempotency_key)
    else:
        raise UnknownFormatError(
            f"unsupported content type {content_type!r}",
            hint="Send application/json or multipart/form-data with a `file` part.",
        )
    return _accepted(response, job, created)


@router.post(
    "/v1/audio/ingest",
    status_code=202,
    response_model=JobResponse,
    tags=["jobs"],
    openapi_extra=_audio_schema(),
    responses=_errors(413, 415),
)
async def ingest_audio(
    request: Request,
    response: Response,
    service: ServiceDep,
    principal: Ingest,
    idempotency_key: IdempotencyKey = None,
) -> JobResponse:
    """Submit a call recording (multipart `file`), streamed to disk and sniffed before anything is decoded."""
    content_type = _media_type(request)
    if content_type != "multipart/form-data":
        raise UnknownFormatError(
            f"unsupported content type {content_type!r}",
            hint="Send multipart/form-data with the recording as the `file` part.",
        )
    writer = await asyncio.to_thread(service.blobs.writer, limits_from(service.settings).max_bytes)
    spool = Spool(writer)
    try:
        parts = await receive_multipart(request, spool)
        if not parts.has_file:
            raise InvalidParameterError("body.file", "missing: send the recording as the `file` part")
    except BaseException:
        await spool.discard()
        raise
    job, created = await asyncio.to_thread(_accept_recording, service, principal, writer, parts, idempotency_key)
    return _accepted(response, job, created)


def _job(service: Service, principal: Principal, job_id: str) -> Job:
    job = service.store.get(job_id, principal.tenant_id)
    if job is None:
        raise JobNotFoundError(f"no job {job_id!r}")
    return job


def _completed(job: Job) -> None:
    if job.status == "error":
        raise JobFailedError(f"job {job.id} failed: [{job.error_code}] {job.error_message}", job_code=job.error_code)
    if job.status != "completed":
        raise JobNotReadyError(
            f"job {job.id} is still {job.status} (stage {job.stage}, {job.progress:.0%})",
            hint="Poll GET /v1/jobs/{job_id} or pass webhook_url.",
        )


@router.get("/v1/jobs", response_model=JobList, tags=["jobs"], responses=_errors())
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


@router.get("/v1/jobs/{job_id}", response_model=JobResponse, tags=["jobs"], responses=_errors(404))
def get_job(job_id: JobId, service: ServiceDep, principal: Reader) -> JobResponse:
    """Status, stage and progress of a job; its error code and message if it failed."""
    return job_response(_job(service, principal, job_id))


@router.delete("/v1/jobs/{job_id}", status_code=204, tags=["jobs"], responses=_errors(404))
def delete_job(job_id: JobId, service: ServiceDep, principal: Ingest) -> Response:
    """Delete a job, its results, its stored input and what the caches hold of it (a running job is stopped)."""
    job = service.store.delete(job_id, principal.tenant_id)
    if job is None:
        raise JobNotFoundError(f"no job {job_id!r}")
    service.maintenance.release_input(job.input_sha256)
    return Response(status_code=204)


@router.get(
    "/v1/transcripts/{job_id}", response_model=TranscriptResponse, tags=["results"], responses=_errors(404, 409)
)
def get_transcript(job_id: JobId, service: ServiceDep, principal: Reader) -> TranscriptResponse:
    """The job's transcript with speaker roles (available as soon as the input is read)."""
    job = _job(service, principal, job_id)
    stored = service.store.result(job.id, principal.tenant_id, "transcript")
    if stored is None:
        _completed(job)
        raise JobNotReadyError(f"job {job.id} has no transcript")
    return TranscriptResponse(job_id=job.id, status=job.status, transcript=Transcript.model_validate_json(stored))


@router.get(
    "/v1/analysis/{job_id}",
    tags=["results"],
    response_model=None,
    responses={
        200: {"description": "The analysis in the requested view", "model": Analysis},
        **_errors(404, 409),
    },
)
def get_analysis(
    job_id: JobId,
    service: ServiceDep,
    principal: Reader,
    view: Annotated[
        str,
        Query(max_length=40, description="Response shape: native, assemblyai, deepgram or insights."),
    ] = "native",
) -> Response:
    """The analysis of a completed `full-analysis` job, in our shape or a vendor's (no second LLM pass)."""
    if view not in VIEWS:
        raise InvalidParameterError("query.view", f"unknown view {view!r}", hint=f"Views: {', '.join(VIEWS)}.")
    job, stored = _stored_analysis(service, principal, job_id)
    if view == "native":
        return Response(stored, media_type="application/json")
    body = render_view(job, Analysis.model_validate_json(stored), view, service.settings)
    return Response(json.dumps(body, ensure_ascii=False), media_type="application/json")


def _stored_analysis(service: Service, principal: Principal, job_id: str) -> tuple[Job, str]:
    job = _job(service, principal, job_id)
    _completed(job)
    if job.pipeline != "full-analysis":
        raise JobNotAnalyzedError(
            f"job {job.id} was processed with pipeline={job.pipeline}",
            hint="Submit it again with pipeline=full-analysis.",
        )
    stored = service.store.result(job.id, principal.tenant_id, "analysis")
    if stored is None:
        raise JobNotReadyError(f"job {job.id} has no analysis")
    return job, stored


def _choice(value: str | None, allowed: tuple[str, ...], field: str) -> str | None:
    if value is not None and value not in allowed:
        raise InvalidParameterError(
            field, f"unknown {field.split('.')[-1]} {value!r}", hint=f"One of: {', '.join(allowed)}."
        )
    return value


@router.get(
    "/v1/insights/{job_id}",
    tags=["results"],
    response_model=None,
    responses={
        200: {"description": "The call-insights object (sentiment, behavioral, summary, recommendations)"},
        **{status: _ERRORS[status] for status in (400, 401, 403, 404, 429)},
    },
)
def get_insights(
    job_id: JobId,
    request: Request,
    service: ServiceDep,
    principal: Reader,
    type: Annotated[str, Query(max_length=20, description="sentiment, behavioral, summary or all.")] = "all",
    speaker: Annotated[str | None, Query(max_length=20, description="Agent or Customer.")] = None,
    granularity: Annotated[str, Query(max_length=20, description="segment, minute or call.")] = "segment",
) -> Response:
    """The call-insights API: 404 while the job is unknown, processing or failed; 403 without full-analysis."""
    insight_type = cast(InsightType, _choice(type, INSIGHT_TYPES, "query.type"))
    who = cast(Speaker | None, _choice(speaker, SPEAKERS, "query.speaker"))
    resolution = cast(Granularity, _choice(granularity, GRANULARITIES, "query.granularity"))
    try:
        job, stored = _stored_analysis(service, principal, job_id)
    except JobFailedError as exc:  # the insights API knows no 409: a failed job has no insights
        return error_response(exc, request.url.path, status=404)
    thresholds = Thresholds(service.settings.positive_threshold, service.settings.negative_threshold)
    body = insights_view(
        Analysis.model_validate_json(stored),
        thresholds=thresholds,
        insight_type=insight_type,
        speaker=who,
        granularity=resolution,
    )
    return Response(json.dumps({**body, "job_id": job.id}, ensure_ascii=False), media_type="application/json")


def _stored_transcript(service: Service, principal: Principal, job: Job) -> Transcript:
    stored = service.store.result(job.id, principal.tenant_id, "transcript")
    if stored is None:
        _completed(job)
        raise JobNotReadyError(f"job {job.id} has no transcript")
    return Transcript.model_validate_json(stored)


def _answer(service: Service, principal: Principal, job_id: str, body: QuestionsRequest) -> QuestionsResponse:
    job = _job(service, principal, job_id)
    _completed(job)
    transcript = _stored_transcript(service, principal, job)
    params = JobParameters(model=body.model, prompts=body.prompts)
    _validate(service, params)
    from llm_sentiment.wiring import build_analyzer

    analyzer = build_analyzer(service.settings, service.llm, model=body.model, prompts_version=body.prompts)
    with tagged(job.input_sha256):
        answers, provenance, warnings = analyzer.answer(transcript, number_questions(body.questions))
    return QuestionsResponse(job_id=job.id, answers=answers, provenance=provenance, warnings=warnings)


@router.post(
    "/v1/jobs/{job_id}/questions",
    response_model=QuestionsResponse,
    tags=["results"],
    responses=_errors(404, 409, 502, 503),
)
async def ask_questions(
    job_id: JobId, body: QuestionsRequest, request: Request, service: ServiceDep, principal: Reader
) -> QuestionsResponse:
    """Custom questions (question, context, answer_format) over a completed job, with grounded quotes."""
    return await _in_llm_pool(request, principal, lambda: _answer(service, principal, job_id, body))


def _chat(service: Service, principal: Principal, body: ChatCompletionRequest) -> ChatCompletion:
    transcript: Transcript | None = None
    job: Job | None = None
    if needs_transcript(body):
        if body.transcript_id is None:
            raise InvalidParameterError("body.transcript_id", "required when a message contains {{ transcript }}")
        job = _job(service, principal, body.transcript_id)
        transcript = _stored_transcript(service, principal, job)
    elif body.transcript_id is not None:
        job = _job(service, principal, body.transcript_id)
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
    responses=_errors(404, 409, 502, 503),
)
async def chat_completions(
    body: ChatCompletionRequest, request: Request, service: ServiceDep, principal: Reader
) -> ChatCompletion:
    """OpenAI-shaped chat completion; `{{ transcript }}` is replaced by the transcript of `transcript_id`."""
    return await _in_llm_pool(request, principal, lambda: _chat(service, principal, body))


# ---- the app -----------------------------------------------------------------------------


def _field(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc)


def create_app(
    settings: Settings | None = None,
    *,
    llm: LLMClient | None = None,
    workers: int = 1,
    preload: bool = True,
) -> FastAPI:
    """The API with its service; ``llm`` replaces the router-built LLM (tests, benchmarks)."""
    settings = settings or Settings()
    service = Service(settings, llm=llm)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service.start(workers, preload=preload)
        app.state.llm_queue = FairQueue(
            settings.api_llm_threads, settings.api_llm_queue, settings.api_llm_queue_per_key
        )
        try:
            yield
        finally:
            app.state.llm_queue.shutdown()
            await asyncio.to_thread(service.stop)

    app = FastAPIOffline(  # /docs and /redoc served from the package: the service runs offline
        title="llm-sentiment",
        version=__version__,
        description="How a call went: customer, agent and call sentiment with reasons and verbatim quotes.",
        lifespan=lifespan,
    )
    app.state.service = service
    app.include_router(router)
    from .vendor import RECORDING_PATHS
    from .vendor import router as vendor_router

    app.include_router(vendor_router)

    @app.exception_handler(LLMSentimentError)
    async def _service_error(request: Request, exc: LLMSentimentError) -> JSONResponse:
        return error_response(exc, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": ("body",), "msg": "invalid request"}
        field = _field(tuple(first.get("loc", ("body",))))
        detail = ErrorDetail(
            code="input.parameter",
            message=f"{field}: {first.get('msg', 'invalid')}",
            field=field,
            details={"errors": [{"field": _field(tuple(e.get("loc", ()))), "message": e.get("msg")} for e in errors]},
        )
        return _error_response(422, detail, path=request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "route.not_found", 405: "route.method_not_allowed"}.get(exc.status_code, "request.invalid")
        detail = ErrorDetail(code=code, message=str(exc.detail))
        return _error_response(exc.status_code, detail, exc.headers, request.url.path)

    app.add_middleware(
        BodyLimit,
        limit=settings.max_upload_bytes,
        recording_limit=limits_from(settings).max_bytes,
        recording_paths=("/v1/audio/ingest", *RECORDING_PATHS),
    )
    app.add_middleware(RequestMetrics, service=service)
    _publish_models(app)
    return app


def _publish_models(app: FastAPI) -> None:
    """Put models referenced only from hand-written request bodies into the OpenAPI components."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = original()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        extra = TranscriptSubmission.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in extra.pop("$defs", {}).items():
            components.setdefault(name, definition)
        components["TranscriptSubmission"] = extra
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
