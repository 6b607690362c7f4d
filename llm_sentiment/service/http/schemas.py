"""The API's request and response models, and the hand-written form bodies of the upload routes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from llm_sentiment.analysis.result import CustomAnswer, Warning
from llm_sentiment.ask.answers import UserQuestion
from llm_sentiment.ask.asking import Provenance
from llm_sentiment.service.store import InputKind, Job, JobStatus, Pipeline, Stage
from llm_sentiment.transcript.formats import INPUT_FORMATS, InputFormat
from llm_sentiment.transcript.model import Transcript

from .errors import scrub_paths


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


def _form_fields(model: type[CallParameters]) -> dict[str, dict[str, Any]]:
    fields: dict[str, dict[str, Any]] = {
        name: {"type": "string", "description": str(field.description or "")}
        for name, field in model.model_fields.items()
        if name not in ("questions",)
    }
    fields["pipeline"]["enum"] = ["transcribe", "full-analysis"]
    fields["questions"] = {"type": "string", "description": "JSON list of {question, context, answer_format}."}
    return fields


def audio_schema() -> dict[str, Any]:
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


def submission_schema() -> dict[str, Any]:
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
