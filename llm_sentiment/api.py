"""The HTTP API (FastAPI): jobs, transcripts, analyses, questions, the LLM gateway, health and metrics.

No LLM, parsing, database or file work runs on the event loop: plain ``def`` routes and
dependencies run in the thread pool, LLM calls in a bounded executor of their own, jobs in the
workers. Errors are the service's error hierarchy mapped onto HTTP statuses (``_STATUS``), with one
body shape: ``{"error": {"code", "message", "hint"?, "field"?, "details"?}}``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime
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

from . import __version__
from .analysis import Analysis, CustomAnswer, Provenance, Warning
from .answers import UserQuestion, number_questions
from .auth import Principal, key_from_header
from .auth import Scope as KeyScope
from .errors import (
    ConfigError,
    EmptyInputError,
    EncodingError,
    ForbiddenError,
    IdempotencyConflictError,
    InputError,
    InputTooLargeError,
    InvalidParameterError,
    InvalidTranscriptError,
    JobAbandonedError,
    JobFailedError,
    JobNotAnalyzedError,
    JobNotFoundError,
    JobNotReadyError,
    LLMSentimentError,
    ModelOutputError,
    OneRoleError,
    ProviderError,
    ProviderRejectedError,
    ProviderTimeoutError,
    QuestionsFileError,
    QueueUnavailableError,
    RateLimitedError,
    SetupError,
    TemplateError,
    UnauthorizedError,
    UnknownFormatError,
)
from .formats import INPUT_FORMATS, InputFormat, parse_transcript
from .gateway import ChatCompletion, ChatCompletionRequest, complete, needs_transcript
from .jobs import InputKind, Job, JobOptions, JobStatus, NewJob, Pipeline, Stage
from .llm import LLMClient
from .roles import assign_roles, parse_roles_spec
from .service import Service
from .settings import Settings
from .templates import PromptSet
from .transcript import Transcript
from .webhooks import check_url

log = logging.getLogger(__name__)

T = TypeVar("T")

# Most specific first: the first class an error is an instance of decides its status.
_STATUS: tuple[tuple[type[LLMSentimentError], int], ...] = (
    (InputTooLargeError, 413),
    (UnknownFormatError, 415),
    (EncodingError, 415),
    (EmptyInputError, 422),
    (InvalidTranscriptError, 422),
    (OneRoleError, 422),
    (QuestionsFileError, 422),
    (InputError, 400),
    (UnauthorizedError, 401),
    (ForbiddenError, 403),
    (JobNotAnalyzedError, 403),
    (JobNotFoundError, 404),
    (JobNotReadyError, 404),
    (JobFailedError, 409),
    (JobAbandonedError, 409),
    (IdempotencyConflictError, 422),
    (RateLimitedError, 429),
    (QueueUnavailableError, 503),
    (ProviderTimeoutError, 504),
    (ProviderRejectedError, 502),
    (ProviderError, 503),
    (ModelOutputError, 502),
    (SetupError, 503),
)


def status_for(error: LLMSentimentError) -> int:
    return next((status for cls, status in _STATUS if isinstance(error, cls)), 500)


class ErrorDetail(BaseModel):
    code: str
    message: str
    hint: str | None = None
    field: str | None = None
    details: dict[str, Any] | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


def _error_response(status: int, detail: ErrorDetail, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        ErrorBody(error=detail).model_dump(mode="json", exclude_none=True),
        status_code=status,
        headers=dict(headers or {}),
    )


def error_response(error: LLMSentimentError) -> JSONResponse:
    details = {k: v for k, v in error.details.items() if k != "field"}
    headers: dict[str, str] = {}
    if isinstance(error, RateLimitedError):
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
    return _error_response(status_for(error), detail, headers)


# ---- request and response models ---------------------------------------------------------


class JobParameters(BaseModel):
    """How to read and analyse the input; the same choices as ``llm-sentiment analyze``."""

    model_config = ConfigDict(extra="forbid")

    pipeline: Pipeline = Field(
        "full-analysis", description="`transcribe`: transcript only; `full-analysis`: also analyse."
    )
    input_format: InputFormat = Field("auto", description="Transcript format; auto detects it.")
    roles: str | None = Field(None, max_length=500, description='Speaker roles, e.g. "Rep=agent,Caller=customer".')
    model: str | None = Field(None, max_length=200, description="Model group from the router config.")
    prompts: str | None = Field(None, max_length=100, pattern=r"^[A-Za-z0-9._-]+$", description="Prompt version.")
    questions: list[UserQuestion] = Field(default_factory=list, max_length=20, description="Extra questions.")
    webhook_url: str | None = Field(None, max_length=2000, description="POSTed (signed) when the job finishes.")


class TranscriptSubmission(JobParameters):
    transcript: str | dict[str, Any] = Field(
        description="Plain `Speaker: text` lines, or a transcript JSON document (ours, AssemblyAI, Deepgram)."
    )


class QuestionsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    questions: list[UserQuestion] = Field(min_length=1, max_length=20)
    model: str | None = Field(None, max_length=200)
    prompts: str | None = Field(None, max_length=100, pattern=r"^[A-Za-z0-9._-]+$")


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
        error=JobError(code=job.error_code, message=job.error_message or "") if job.error_code else None,
        links=JobLinks(
            self=f"/v1/jobs/{job.id}", transcript=f"/v1/transcripts/{job.id}", analysis=f"/v1/analysis/{job.id}"
        ),
    )


# ---- analysis views ----------------------------------------------------------------------

ViewRenderer = Callable[[Job, Analysis], BaseModel]


def _native(_job: Job, analysis: Analysis) -> BaseModel:
    return analysis


ANALYSIS_VIEWS: dict[str, ViewRenderer] = {"native": _native}
"""Shapes ``GET /v1/analysis/{id}?view=`` can answer in; each derives from the native ``Analysis``."""


# ---- plumbing ----------------------------------------------------------------------------


class BodyLimit:
    """Refuses a body over ``limit`` bytes with 413: at once from Content-Length, else as it streams in.

    Once the limit is passed no more of the body is read, and whatever the app then tries to answer
    is replaced by the 413, however the app handled the interrupted read.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        too_large = InputTooLargeError(
            f"the request body is larger than {self.limit} bytes",
            hint="Raise LLM_SENTIMENT_MAX_UPLOAD_BYTES or send a smaller file.",
            limit=self.limit,
        )
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await error_response(too_large)(scope, receive, send)
            return
        received = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    exceeded = True
                    raise too_large
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                if not started:
                    started = True
                    await error_response(too_large)(scope, receive, send)
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


async def _in_llm_pool(request: Request, work: Callable[[], T]) -> T:
    """LLM work runs in its own bounded executor, so it never takes the threads other routes need."""
    executor = cast(ThreadPoolExecutor, request.app.state.llm_executor)
    return await asyncio.wrap_future(executor.submit(work))


# ---- submission --------------------------------------------------------------------------


def _validate(service: Service, params: JobParameters) -> None:
    if params.model is not None and params.model not in service.router_config.groups():
        raise InvalidParameterError(
            "body.model",
            f"unknown model {params.model!r}",
            hint=f"Model groups: {', '.join(service.router_config.groups())}.",
        )
    if params.prompts is not None:
        try:
            PromptSet(service.settings.prompts_dir, params.prompts)
        except TemplateError as exc:
            raise InvalidParameterError("body.prompts", exc.message, hint=exc.hint) from None
    if params.roles is not None:
        parse_roles_spec(params.roles)
    if params.webhook_url is not None:
        check_url(params.webhook_url, service.settings.webhook_allow_private)


def _request_hash(kind: str, sha256: str, params: JobParameters) -> str:
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
    new = NewJob(
        tenant_id=principal.tenant_id,
        kind="transcript",
        pipeline=params.pipeline,
        input_sha256=sha256,
        input_bytes=size,
        input_name=name,
        options=JobOptions(
            input_format=params.input_format,
            roles=params.roles,
            model=params.model,
            prompts_version=params.prompts,
            questions=number_questions(params.questions),
        ),
        webhook_url=params.webhook_url,
        idempotency_key=idempotency_key,
        request_hash=_request_hash("transcript", sha256, params),
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


def _form_parameters(form: dict[str, str]) -> JobParameters:
    raw: dict[str, Any] = dict(form)
    if "questions" in raw:
        try:
            raw["questions"] = json.loads(raw["questions"])
        except json.JSONDecodeError:
            raise InvalidParameterError(
                "body.questions", "must be a JSON list of {question, context, answer_format}"
            ) from None
    try:
        return JobParameters.model_validate(raw)
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
    return _accept_transcript(service, principal, data, name, _form_parameters(fields), idempotency_key)


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


def _transcript_bytes(value: str | dict[str, Any]) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else json.dumps(value, ensure_ascii=False).encode("utf-8")


def _submission_schema() -> dict[str, Any]:
    form_fields: dict[str, dict[str, Any]] = {
        name: {"type": "string", "description": str(field.description or "")}
        for name, field in JobParameters.model_fields.items()
        if name not in ("questions",)
    }
    form_fields["pipeline"]["enum"] = ["transcribe", "full-analysis"]
    form_fields["input_format"]["enum"] = list(INPUT_FORMATS)
    form_fields["questions"] = {"type": "string", "description": "JSON list of {question, context, answer_format}."}
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


@router.get("/metrics", tags=["service"], response_class=Response, responses={200: {"content": {"text/plain": {}}}})
def metrics(service: ServiceDep) -> Response:
    """Prometheus metrics: jobs by state, stage latencies, LLM tokens and cache hits, HTTP latency."""
    return Response(generate_latest(service.telemetry.registry), media_type=CONTENT_TYPE_LATEST)


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
    idempotency_key: Annotated[
        str | None,
        Header(alias="Idempotency-Key", min_length=1, max_length=255, description="Retries return the same job."),
    ] = None,
) -> JobResponse:
    """Submit a transcript (JSON body, or a file upload as multipart `file`) for a job."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
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
    response.headers["Location"] = f"/v1/jobs/{job.id}"
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return job_response(job)


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
    """Delete a job, its results and its stored input (a running job is stopped)."""
    job = service.store.delete(job_id, principal.tenant_id)
    if job is None:
        raise JobNotFoundError(f"no job {job_id!r}")
    if not service.store.input_in_use(job.input_sha256):
        service.blobs.remove(job.input_sha256)
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
    view: Annotated[str, Query(max_length=40, description="Response shape: native.")] = "native",
) -> Response:
    """The analysis of a completed `full-analysis` job."""
    renderer = ANALYSIS_VIEWS.get(view)
    if renderer is None:
        raise InvalidParameterError(
            "query.view", f"unknown view {view!r}", hint=f"Views: {', '.join(sorted(ANALYSIS_VIEWS))}."
        )
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
    if view == "native":
        return Response(stored, media_type="application/json")
    body = renderer(job, Analysis.model_validate_json(stored))
    return Response(body.model_dump_json(), media_type="application/json")


def _stored_transcript(service: Service, principal: Principal, job_id: str) -> Transcript:
    job = _job(service, principal, job_id)
    stored = service.store.result(job.id, principal.tenant_id, "transcript")
    if stored is None:
        _completed(job)
        raise JobNotReadyError(f"job {job.id} has no transcript")
    return Transcript.model_validate_json(stored)


def _answer(service: Service, principal: Principal, job_id: str, body: QuestionsRequest) -> QuestionsResponse:
    job = _job(service, principal, job_id)
    _completed(job)
    transcript = _stored_transcript(service, principal, job_id)
    params = JobParameters(model=body.model, prompts=body.prompts)
    _validate(service, params)
    from .pipeline import build_analyzer

    analyzer = build_analyzer(service.settings, service.llm, model=body.model, prompts_version=body.prompts)
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
    return await _in_llm_pool(request, lambda: _answer(service, principal, job_id, body))


def _chat(service: Service, principal: Principal, body: ChatCompletionRequest) -> ChatCompletion:
    transcript: Transcript | None = None
    if needs_transcript(body):
        if body.transcript_id is None:
            raise InvalidParameterError("body.transcript_id", "required when a message contains {{ transcript }}")
        transcript = _stored_transcript(service, principal, body.transcript_id)
    elif body.transcript_id is not None:
        _job(service, principal, body.transcript_id)
    try:
        service.router_config.resolve(body.model)
    except ConfigError as exc:
        raise InvalidParameterError("body.model", exc.message, hint=exc.hint) from None
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
    return await _in_llm_pool(request, lambda: _chat(service, principal, body))


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
        app.state.llm_executor = ThreadPoolExecutor(settings.api_llm_threads, thread_name_prefix="api-llm")
        try:
            yield
        finally:
            app.state.llm_executor.shutdown(wait=False, cancel_futures=True)
            await asyncio.to_thread(service.stop)

    app = FastAPIOffline(  # /docs and /redoc served from the package: the service runs offline
        title="llm-sentiment",
        version=__version__,
        description="How a call went: customer, agent and call sentiment with reasons and verbatim quotes.",
        lifespan=lifespan,
    )
    app.state.service = service
    app.include_router(router)

    @app.exception_handler(LLMSentimentError)
    async def _service_error(_request: Request, exc: LLMSentimentError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": ("body",), "msg": "invalid request"}
        field = _field(tuple(first.get("loc", ("body",))))
        detail = ErrorDetail(
            code="input.parameter",
            message=f"{field}: {first.get('msg', 'invalid')}",
            field=field,
            details={"errors": [{"field": _field(tuple(e.get("loc", ()))), "message": e.get("msg")} for e in errors]},
        )
        return _error_response(422, detail)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "route.not_found", 405: "route.method_not_allowed"}.get(exc.status_code, "request.invalid")
        return _error_response(exc.status_code, ErrorDetail(code=code, message=str(exc.detail)), exc.headers)

    app.add_middleware(BodyLimit, limit=settings.max_upload_bytes)
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
