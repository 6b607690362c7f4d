"""Jobs, their events and their leases.

The database is the one source of truth. A worker *claims* a job by a single conditional UPDATE
that gives it a lease (owner, random token, expiry); it renews the lease while it works, and every
write of a result is conditional on still holding that token. So a worker that dies (SIGKILL)
leaves a job whose lease expires and that another worker claims again, and a worker that lost its
lease can never overwrite the result of the one that took over: a job completes exactly once.
Results are stored in the same row and the same transaction as the status change, and a webhook
delivery is queued in that transaction too (an outbox), so nothing is half-written.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Collection
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from llm_sentiment.ask.answers import UserQuestion
from llm_sentiment.errors import IdempotencyConflictError

from .keys import Keys
from .outbox import Outbox, webhook_body
from .schema import job_events, jobs, uploads, webhook_deliveries
from .uploads import Uploads

JobStatus = Literal["queued", "processing", "completed", "error"]
Stage = Literal["queued", "parsing", "transcribing", "analyzing", "completed", "error"]
Pipeline = Literal["transcribe", "full-analysis"]
InputKind = Literal["transcript", "audio"]
STATUSES: tuple[JobStatus, ...] = ("queued", "processing", "completed", "error")


class JobOptions(BaseModel):
    """How a job's input is read and analysed; every field the CLI's ``analyze`` takes, plus audio's."""

    input_format: str = "auto"
    roles: str | None = None
    model: str | None = None
    prompts_version: str | None = None
    questions: list[UserQuestion] = Field(default_factory=list)
    language: str | None = None
    channels: str | None = Field(None, description='Stereo recordings: roles of channel 0 and 1, "agent,customer".')


class Job(BaseModel):
    id: str
    tenant_id: str
    kind: InputKind
    pipeline: Pipeline
    status: JobStatus
    stage: Stage
    progress: float
    input_sha256: str
    input_bytes: int
    input_name: str | None
    options: JobOptions
    webhook_url: str | None
    idempotency_key: str | None
    request_hash: str | None
    attempts: int
    lease_owner: str | None
    lease_token: str | None
    lease_expires_at: float | None
    created_at: float
    updated_at: float
    started_at: float | None
    completed_at: float | None
    expires_at: float | None
    error_code: str | None
    error_message: str | None
    has_transcript: bool
    has_analysis: bool
    prompt_tokens: int
    completion_tokens: int


class NewJob(BaseModel):
    tenant_id: str
    kind: InputKind
    pipeline: Pipeline
    input_sha256: str
    input_bytes: int
    input_name: str | None = None
    options: JobOptions
    webhook_url: str | None = None
    idempotency_key: str | None = None
    request_hash: str | None = None


class Claimed(BaseModel):
    job: Job
    token: str


_SUMMARY_COLUMNS = [c for c in jobs.c if c.name not in ("transcript", "analysis")]
# Built once: constructing a 30-column select costs more than running it on SQLite.
_SUMMARY = select(
    *_SUMMARY_COLUMNS,
    jobs.c.transcript.is_not(None).label("has_transcript"),
    jobs.c.analysis.is_not(None).label("has_analysis"),
)


def new_job_id() -> str:
    return "job_" + secrets.token_hex(12)


class JobStore(Uploads, Outbox, Keys):
    """Every read and write of jobs, their events and leases; uploads, webhook deliveries and keys
    come from the classes it extends, over the same engine."""

    # ---- jobs ---------------------------------------------------------------------------

    def create(self, new: NewJob, *, now: float | None = None) -> tuple[Job, bool]:
        """The job, and whether it was created (False: an earlier request with the same Idempotency-Key)."""
        now = now or time.time()
        job_id = new_job_id()
        row = {
            **new.model_dump(exclude={"options"}),
            "options": new.options.model_dump_json(),
            "id": job_id,
            "status": "queued",
            "stage": "queued",
            "progress": 0.0,
            "attempts": 0,
            "not_before": 0.0,
            "created_at": now,
            "updated_at": now,
            "prompt_tokens": 0,
            "completion_tokens": 0,
        }
        try:
            with self._write() as conn:
                conn.execute(insert(jobs).values(**row))
                _event(conn, job_id, "accepted", now=now)
        except IntegrityError:
            if new.idempotency_key is None:
                raise
            existing = self.find_by_idempotency_key(new.tenant_id, new.idempotency_key)
            if existing is None:
                raise
            if existing.request_hash != new.request_hash:
                raise IdempotencyConflictError(
                    f"Idempotency-Key {new.idempotency_key!r} was used for a different request",
                    hint="Use a new key for a new request.",
                    job_id=existing.id,
                ) from None
            return existing, False
        job = self.get(job_id)
        assert job is not None
        return job, True

    def find_by_idempotency_key(self, tenant_id: str, key: str) -> Job | None:
        with self._read() as conn:
            row = conn.execute(_SUMMARY.where(jobs.c.tenant_id == tenant_id, jobs.c.idempotency_key == key)).first()
        return _job(row) if row else None

    def get(self, job_id: str, tenant_id: str | None = None) -> Job | None:
        """``tenant_id`` scopes the lookup: another tenant's job is indistinguishable from none."""
        query = _SUMMARY.where(jobs.c.id == job_id)
        if tenant_id is not None:
            query = query.where(jobs.c.tenant_id == tenant_id)
        with self._read() as conn:
            row = conn.execute(query).first()
        return _job(row) if row else None

    def for_tenant(
        self, tenant_id: str, *, status: JobStatus | None = None, limit: int = 50, before: str | None = None
    ) -> list[Job]:
        """A tenant's jobs, newest first; ``before`` (a job id) continues a previous page."""
        query = _SUMMARY.where(jobs.c.tenant_id == tenant_id)
        if status is not None:
            query = query.where(jobs.c.status == status)
        with self._read() as conn:
            if before is not None:
                cursor = conn.execute(
                    select(jobs.c.created_at).where(jobs.c.id == before, jobs.c.tenant_id == tenant_id)
                ).scalar()
                if cursor is None:
                    return []
                query = query.where(
                    or_(jobs.c.created_at < cursor, and_(jobs.c.created_at == cursor, jobs.c.id < before))
                )
            rows = conn.execute(query.order_by(jobs.c.created_at.desc(), jobs.c.id.desc()).limit(limit)).all()
        return [_job(r) for r in rows]

    def result(self, job_id: str, tenant_id: str, column: Literal["transcript", "analysis"]) -> str | None:
        with self._read() as conn:
            value = conn.execute(
                select(jobs.c[column]).where(jobs.c.id == job_id, jobs.c.tenant_id == tenant_id)
            ).scalar_one_or_none()
        return str(value) if value is not None else None

    def delete(self, job_id: str, tenant_id: str | None = None, *, scrub: bool = True) -> Job | None:
        """Remove the job, its results, events and pending webhooks; the caller removes the input blob
        (``scrub=False``: the caller deletes more and calls ``scrub`` once)."""
        job = self.get(job_id, tenant_id)
        if job is None:
            return None
        with self._write() as conn:
            conn.execute(delete(jobs).where(jobs.c.id == job_id))
            conn.execute(delete(job_events).where(job_events.c.job_id == job_id))
            conn.execute(delete(webhook_deliveries).where(webhook_deliveries.c.job_id == job_id))
        if scrub:
            self.scrub()
        return job

    def input_in_use(self, sha256: str) -> bool:
        """A job or a pending upload still needs this stored input."""
        return bool(self.inputs_in_use([sha256]))

    def inputs_in_use(self, sha256s: Collection[str]) -> set[str]:
        """Those of the inputs that a job or a pending upload still needs."""
        with self._read() as conn:
            used = conn.execute(select(jobs.c.input_sha256).where(jobs.c.input_sha256.in_(sha256s)).distinct())
            uploaded = conn.execute(select(uploads.c.sha256).where(uploads.c.sha256.in_(sha256s)).distinct())
            return {str(sha) for sha in [*used.scalars(), *uploaded.scalars()]}

    def counts(self) -> dict[str, int]:
        with self._read() as conn:
            rows = conn.execute(select(jobs.c.status, func.count()).group_by(jobs.c.status)).all()
        counted: dict[str, int] = dict.fromkeys(STATUSES, 0)
        counted.update({str(status): int(n) for status, n in rows})
        return counted

    def events(self, job_id: str) -> list[dict[str, Any]]:
        with self._read() as conn:
            rows = conn.execute(select(job_events).where(job_events.c.job_id == job_id).order_by(job_events.c.id)).all()
        return [dict(r._mapping) for r in rows]

    # ---- leases -------------------------------------------------------------------------

    def _claimable(self, now: float, max_attempts: int) -> Any:
        return or_(
            and_(jobs.c.status == "queued", jobs.c.not_before <= now),
            and_(jobs.c.status == "processing", jobs.c.lease_expires_at < now, jobs.c.attempts < max_attempts),
        )

    def claim(
        self, worker: str, lease_s: float, max_attempts: int, job_id: str | None = None, now: float | None = None
    ) -> Claimed | None:
        """Take ``job_id`` (or the oldest claimable job) with a fresh lease; None when there is none to take."""
        now = now or time.time()
        token = secrets.token_hex(16)
        claimable = self._claimable(now, max_attempts)
        if job_id is None:
            target: Any = select(jobs.c.id).where(claimable).order_by(jobs.c.created_at).limit(1).scalar_subquery()
        else:
            target = job_id
        with self._write() as conn:
            result = conn.execute(
                update(jobs)
                .where(jobs.c.id == target, claimable)
                .values(
                    status="processing",
                    attempts=jobs.c.attempts + 1,
                    lease_owner=worker,
                    lease_token=token,
                    lease_expires_at=now + lease_s,
                    started_at=func.coalesce(jobs.c.started_at, now),
                    updated_at=now,
                )
            )
            if result.rowcount != 1:
                return None
            claimed_id = conn.execute(select(jobs.c.id).where(jobs.c.lease_token == token)).scalar_one()
            attempt = conn.execute(select(jobs.c.attempts).where(jobs.c.id == claimed_id)).scalar_one()
            _event(conn, claimed_id, "claimed", worker=worker, attempt=attempt, now=now)
        job = self.get(claimed_id)
        assert job is not None
        return Claimed(job=job, token=token)

    def renew(self, job_id: str, token: str, lease_s: float) -> bool:
        """Extend the lease; False when it was lost (expired and taken over, or the job deleted)."""
        now = time.time()
        with self._write() as conn:
            result = conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id, jobs.c.lease_token == token, jobs.c.status == "processing")
                .values(lease_expires_at=now + lease_s, updated_at=now)
            )
        return result.rowcount == 1

    def progress(self, job_id: str, token: str, stage: Stage, progress: float, lease_s: float) -> bool:
        now = time.time()
        with self._write() as conn:
            result = conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id, jobs.c.lease_token == token, jobs.c.status == "processing")
                .values(stage=stage, progress=round(progress, 4), lease_expires_at=now + lease_s, updated_at=now)
            )
        return result.rowcount == 1

    def save_transcript(self, job_id: str, token: str, transcript_json: str) -> bool:
        with self._write() as conn:
            result = conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id, jobs.c.lease_token == token, jobs.c.status == "processing")
                .values(transcript=transcript_json, updated_at=time.time())
            )
        return result.rowcount == 1

    def finish(
        self,
        job_id: str,
        token: str,
        *,
        worker: str,
        retention_s: float,
        analysis_json: str | None = None,
        error: tuple[str, str] | None = None,
        tokens: tuple[int, int] = (0, 0),
        webhook_body: str | None = None,
    ) -> bool:
        """Complete (or fail) the job held under ``token``, and queue its webhook, in one transaction."""
        now = time.time()
        status: JobStatus = "error" if error else "completed"
        values: dict[str, Any] = {
            "status": status,
            "stage": status,
            "progress": 1.0 if error is None else jobs.c.progress,
            "completed_at": now,
            "expires_at": now + retention_s,
            "updated_at": now,
            "lease_owner": None,
            "lease_token": None,
            "lease_expires_at": None,
            "prompt_tokens": tokens[0],
            "completion_tokens": tokens[1],
            "error_code": error[0] if error else None,
            "error_message": error[1] if error else None,
        }
        if analysis_json is not None:
            values["analysis"] = analysis_json
        with self._write() as conn:
            result = conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id, jobs.c.lease_token == token, jobs.c.status == "processing")
                .values(**values)
            )
            if result.rowcount != 1:
                return False
            _event(conn, job_id, status, worker=worker, detail=error[0] if error else None, now=now)
            self._queue_webhook(conn, job_id, webhook_body, now)
        return True

    def retry_later(self, job_id: str, token: str, *, worker: str, delay_s: float, reason: str) -> bool:
        """Give the job back to the queue after a transient failure (provider down)."""
        now = time.time()
        with self._write() as conn:
            result = conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id, jobs.c.lease_token == token, jobs.c.status == "processing")
                .values(
                    status="queued",
                    stage="queued",
                    not_before=now + delay_s,
                    lease_owner=None,
                    lease_token=None,
                    lease_expires_at=None,
                    dispatched_at=None,
                    updated_at=now,
                )
            )
            if result.rowcount == 1:
                _event(conn, job_id, "retry", worker=worker, detail=reason[:500], now=now)
        return result.rowcount == 1

    def release(self, job_id: str, token: str, *, worker: str) -> bool:
        """Hand a job back at once (the worker is shutting down), so a restart need not wait for the lease."""
        return self.retry_later(job_id, token, worker=worker, delay_s=0.0, reason="worker shut down")

    # ---- maintenance --------------------------------------------------------------------

    def abandon_exhausted(self, max_attempts: int, retention_s: float, now: float | None = None) -> list[str]:
        """Jobs whose lease expired after their last allowed attempt fail for good (``job.abandoned``)."""
        now = now or time.time()
        with self._write() as conn:
            rows = conn.execute(
                select(jobs.c.id, jobs.c.pipeline).where(
                    jobs.c.status == "processing",
                    jobs.c.lease_expires_at < now,
                    jobs.c.attempts >= max_attempts,
                )
            ).all()
            ids = [row.id for row in rows]
            error = ("job.abandoned", f"the worker running this job stopped {max_attempts} times")
            for row in rows:
                conn.execute(
                    update(jobs)
                    .where(jobs.c.id == row.id, jobs.c.status == "processing", jobs.c.lease_expires_at < now)
                    .values(
                        status="error",
                        stage="error",
                        error_code=error[0],
                        error_message=error[1],
                        completed_at=now,
                        expires_at=now + retention_s,
                        updated_at=now,
                        lease_owner=None,
                        lease_token=None,
                        lease_expires_at=None,
                    )
                )
                _event(conn, row.id, "error", detail=error[0], now=now)
                self._queue_webhook(conn, row.id, webhook_body(row.id, "error", row.pipeline, error), now)
        return ids

    def due_for_dispatch(self, resend_after_s: float, now: float | None = None) -> list[str]:
        """Jobs to (re)send to the broker: processing jobs whose lease expired (their worker died) and
        not re-sent since, jobs whose retry delay passed, and queued jobs sent ``resend_after_s`` ago
        and still waiting (the broker lost the message).

        Each is marked dispatched in the same statement, so of several sweepers only one re-sends it.
        """
        now = now or time.time()
        due = or_(
            and_(
                jobs.c.status == "queued",
                jobs.c.not_before <= now,
                or_(jobs.c.dispatched_at.is_(None), jobs.c.dispatched_at < now - resend_after_s),
            ),
            and_(
                jobs.c.status == "processing",
                jobs.c.lease_expires_at < now,
                or_(jobs.c.dispatched_at.is_(None), jobs.c.dispatched_at < jobs.c.lease_expires_at),
            ),
        )
        taken: list[str] = []
        with self._write() as conn:
            for job_id in conn.execute(select(jobs.c.id).where(due).order_by(jobs.c.created_at).limit(500)).scalars():
                if conn.execute(update(jobs).where(jobs.c.id == job_id, due).values(dispatched_at=now)).rowcount:
                    taken.append(job_id)
        return taken

    def mark_dispatched(self, job_id: str, now: float | None = None) -> None:
        with self._write() as conn:
            conn.execute(update(jobs).where(jobs.c.id == job_id).values(dispatched_at=now or time.time()))

    def expired(self, now: float | None = None, limit: int = 500) -> list[Job]:
        now = now or time.time()
        with self._read() as conn:
            rows = conn.execute(
                _SUMMARY.where(jobs.c.expires_at.is_not(None), jobs.c.expires_at < now).limit(limit)
            ).all()
        return [_job(r) for r in rows]


def _job(row: Any) -> Job:
    data = dict(row._mapping)
    data["options"] = JobOptions.model_validate(json.loads(data["options"]))
    data["has_transcript"] = bool(data["has_transcript"])
    data["has_analysis"] = bool(data["has_analysis"])
    return Job.model_validate(data)


def _event(
    conn: Connection,
    job_id: str,
    name: str,
    *,
    worker: str | None = None,
    attempt: int | None = None,
    detail: str | None = None,
    now: float,
) -> None:
    conn.execute(
        insert(job_events).values(job_id=job_id, event=name, worker=worker, attempt=attempt, detail=detail, at=now)
    )
