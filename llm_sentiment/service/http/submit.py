"""Submitting a job, shared by our routes and the vendors': check every parameter, store the input,
create the job and dispatch it; a refused request leaves nothing behind."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any, TypeVar

from fastapi import Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from llm_sentiment.ask.answers import number_questions
from llm_sentiment.ask.prompts import PromptSet, prompt_versions
from llm_sentiment.errors import InputError, InvalidParameterError, QueueUnavailableError, TemplateError
from llm_sentiment.roles.rules import assign_roles, parse_channels_spec, parse_roles_spec
from llm_sentiment.service.auth import Principal
from llm_sentiment.service.blobs import BlobWriter
from llm_sentiment.service.store import InputKind, Job, JobOptions, NewJob
from llm_sentiment.service.webhooks import check_url
from llm_sentiment.service.wiring import Service
from llm_sentiment.speech.audio import probe
from llm_sentiment.speech.recording import limits_for
from llm_sentiment.transcript.formats import parse_transcript

from .schemas import AudioParameters, CallParameters, JobParameters, JobResponse, TranscriptSubmission, job_response
from .uploads import Multipart

log = logging.getLogger(__name__)


def accepted(response: Response, job: Job, created: bool) -> JobResponse:
    """A submission's 202: where to poll, and whether an Idempotency-Key replayed an earlier job."""
    response.headers["Location"] = f"/v1/jobs/{job.id}"
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return job_response(job)


def check_parameters(service: Service, params: CallParameters) -> None:
    """Everything the parameters name must exist (model group, prompt version, roles, webhook URL,
    channels) before any input is stored."""
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
    check_parameters(service, params)
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


def accept_upload(
    service: Service,
    principal: Principal,
    data: bytes,
    name: str | None,
    fields: dict[str, str],
    idempotency_key: str | None,
) -> tuple[Job, bool]:
    return _accept_transcript(service, principal, data, name, _form_parameters(fields, JobParameters), idempotency_key)


def accept_json(service: Service, principal: Principal, body: bytes, idempotency_key: str | None) -> tuple[Job, bool]:
    """Parsing a large body is CPU work: it runs here, in a worker thread, not on the event loop."""
    try:
        submission = TranscriptSubmission.model_validate_json(body)
    except ValidationError as exc:
        raise _validation_error(exc, "body") from None
    params = JobParameters.model_validate(submission.model_dump(exclude={"transcript"}))
    return _accept_transcript(
        service, principal, _transcript_bytes(submission.transcript), None, params, idempotency_key
    )


def accept_recording(
    service: Service,
    principal: Principal,
    writer: BlobWriter,
    parts: Multipart,
    idempotency_key: str | None,
) -> tuple[Job, bool]:
    """Parameters first, then the recording sniffed and size-checked by ``audio.probe``: nothing is
    stored unless both pass. Decoding (duration, channels) happens in the worker."""
    try:
        params = _form_parameters(parts.fields, AudioParameters)
        check_parameters(service, params)
    except BaseException:
        writer.discard()
        raise
    name = parts.filename or "recording"
    limits = limits_for(service.settings.speech_options())

    def sniffed(path: Path) -> None:
        probe(path, limits, name=name)

    stored = writer.commit(check=sniffed)
    return create_job(service, principal, "audio", stored, parts.filename, params, idempotency_key)


def _transcript_bytes(value: str | dict[str, Any]) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else json.dumps(value, ensure_ascii=False).encode("utf-8")
