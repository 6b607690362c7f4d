"""Job state in a database: SQLite (WAL) in the data directory by default, PostgreSQL by URL.

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
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import (
    Column,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    create_engine,
    delete,
    event,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import IntegrityError, OperationalError

from llm_sentiment.ask.answers import UserQuestion
from llm_sentiment.errors import ConfigError, IdempotencyConflictError

JobStatus = Literal["queued", "processing", "completed", "error"]
Stage = Literal["queued", "parsing", "transcribing", "analyzing", "completed", "error"]
Pipeline = Literal["transcribe", "full-analysis"]
InputKind = Literal["transcript", "audio"]
STATUSES: tuple[JobStatus, ...] = ("queued", "processing", "completed", "error")

metadata = MetaData()

tenants = Table(
    "tenants",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("webhook_secret", String(128), nullable=False),
    Column("created_at", Float, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("tenant_id", String(64), ForeignKey("tenants.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("salt", String(64), nullable=False),
    Column("secret_hash", String(128), nullable=False),
    Column("scopes", String(200), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("revoked_at", Float),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("pipeline", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("stage", String(20), nullable=False),
    Column("progress", Float, nullable=False, default=0.0),
    Column("input_sha256", String(64), nullable=False),
    Column("input_bytes", Integer, nullable=False),
    Column("input_name", String(300)),
    Column("options", Text, nullable=False),
    Column("webhook_url", Text),
    Column("idempotency_key", String(255)),
    Column("request_hash", String(64)),
    Column("attempts", Integer, nullable=False, default=0),
    Column("not_before", Float, nullable=False, default=0.0),
    Column("lease_owner", String(200)),
    Column("lease_token", String(64)),
    Column("lease_expires_at", Float),
    Column("dispatched_at", Float),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("started_at", Float),
    Column("completed_at", Float),
    Column("expires_at", Float),
    Column("error_code", String(64)),
    Column("error_message", Text),
    Column("transcript", Text),
    Column("analysis", Text),
    Column("prompt_tokens", Integer, nullable=False, default=0),
    Column("completion_tokens", Integer, nullable=False, default=0),
    UniqueConstraint("tenant_id", "idempotency_key", name="uq_jobs_idempotency"),
    Index("ix_jobs_claim", "status", "not_before", "created_at"),
    Index("ix_jobs_tenant", "tenant_id", "created_at"),
    Index("ix_jobs_input", "input_sha256"),
)

job_events = Table(
    "job_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", String(40), nullable=False, index=True),
    Column("event", String(32), nullable=False),
    Column("worker", String(200)),
    Column("attempt", Integer),
    Column("detail", Text),
    Column("at", Float, nullable=False),
)

uploads = Table(
    "uploads",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("bytes", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Index("ix_uploads_sha256", "sha256"),
    Index("ix_uploads_expires", "expires_at"),
)
"""Recordings uploaded with AssemblyAI's ``POST /v2/upload``, waiting for a ``POST /v2/transcript``."""

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", String(40), nullable=False, index=True),
    Column("tenant_id", String(64), nullable=False),
    Column("url", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_at", Float, nullable=False),
    Column("lease_expires_at", Float),
    Column("last_error", Text),
    Column("created_at", Float, nullable=False),
    Index("ix_webhooks_due", "status", "next_at"),
)


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


class WebhookDelivery(BaseModel):
    id: int
    job_id: str
    tenant_id: str
    url: str
    body: str
    attempts: int


_SUMMARY_COLUMNS = [c for c in jobs.c if c.name not in ("transcript", "analysis")]
# Built once: constructing a 30-column select costs more than running it on SQLite.
_SUMMARY = select(
    *_SUMMARY_COLUMNS,
    jobs.c.transcript.is_not(None).label("has_transcript"),
    jobs.c.analysis.is_not(None).label("has_analysis"),
)


def webhook_body(job_id: str, status: str, pipeline: str, error: tuple[str, str] | None) -> str:
    """What a job's webhook says: which job, how it ended; the receiver fetches the results."""
    return json.dumps(
        {
            "event": f"job.{status}",
            "job_id": job_id,
            "status": status,
            "pipeline": pipeline,
            "error": {"code": error[0], "message": error[1]} if error else None,
        },
        separators=(",", ":"),
    )


def new_job_id() -> str:
    return "job_" + secrets.token_hex(12)


def _sqlite_engine(url: str) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=10)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA secure_delete=ON")  # deleted rows are overwritten, not just unlinked
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # IMMEDIATE takes the write lock up front: a deferred transaction that reads then writes
        # fails at once with "database is locked" when another writer got in between.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("write") else "BEGIN")

    return engine


def make_engine(url: str) -> Engine:
    try:
        if url.startswith("sqlite"):
            return _sqlite_engine(url)
        return create_engine(url, pool_pre_ping=True, pool_size=10)
    except Exception as exc:  # a bad URL or a missing driver
        raise ConfigError(
            f"cannot use database {url.split('@')[-1]!r}: {exc}", hint="Check LLM_SENTIMENT_DATABASE_URL."
        ) from None


class JobStore:
    """Every read and write of jobs, keys, events and webhook deliveries."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str) -> JobStore:
        store = cls(make_engine(url))
        store.create_schema()
        return store

    def create_schema(self) -> None:
        try:
            metadata.create_all(self.engine)
        except OperationalError as exc:
            if "already exists" not in str(exc):  # two processes creating it at once
                raise

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self.engine.connect().execution_options(write=True) as conn, conn.begin():
            yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    def ping(self) -> None:
        with self._read() as conn:
            conn.execute(select(1)).scalar_one()

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

    def scrub(self) -> None:
        """SQLite: empty the write-ahead log into the database, whose deleted rows secure_delete zeroed,
        so no earlier version of a deleted row stays readable in either file."""
        if self.engine.dialect.name != "sqlite":
            return
        raw = self.engine.raw_connection()
        try:
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()

    def input_in_use(self, sha256: str) -> bool:
        """A job or a pending upload still needs this stored input."""
        return bool(self.inputs_in_use([sha256]))

    def inputs_in_use(self, sha256s: Collection[str]) -> set[str]:
        """Those of the inputs that a job or a pending upload still needs."""
        with self._read() as conn:
            used = conn.execute(select(jobs.c.input_sha256).where(jobs.c.input_sha256.in_(sha256s)).distinct())
            uploaded = conn.execute(select(uploads.c.sha256).where(uploads.c.sha256.in_(sha256s)).distinct())
            return {str(sha) for sha in [*used.scalars(), *uploaded.scalars()]}

    # ---- uploads (AssemblyAI's /v2/upload) ----------------------------------------------

    def add_upload(self, tenant_id: str, sha256: str, size: int, ttl_s: float, now: float | None = None) -> str:
        now = now or time.time()
        upload_id = "upl_" + secrets.token_hex(16)
        with self._write() as conn:
            conn.execute(
                insert(uploads).values(
                    id=upload_id, tenant_id=tenant_id, sha256=sha256, bytes=size, created_at=now, expires_at=now + ttl_s
                )
            )
        return upload_id

    def upload(self, upload_id: str, tenant_id: str, now: float | None = None) -> tuple[str, int] | None:
        """(sha256, bytes) of a tenant's live upload; another tenant's is indistinguishable from none."""
        now = now or time.time()
        with self._read() as conn:
            row = conn.execute(
                select(uploads.c.sha256, uploads.c.bytes).where(
                    uploads.c.id == upload_id, uploads.c.tenant_id == tenant_id, uploads.c.expires_at >= now
                )
            ).first()
        return (str(row.sha256), int(row.bytes)) if row else None

    def expire_uploads(self, now: float | None = None, limit: int = 500) -> list[str]:
        """Forget expired uploads; returns their sha256s (the caller removes blobs no longer in use)."""
        now = now or time.time()
        with self._write() as conn:
            rows = conn.execute(
                select(uploads.c.id, uploads.c.sha256).where(uploads.c.expires_at < now).limit(limit)
            ).all()
            if rows:
                conn.execute(delete(uploads).where(uploads.c.id.in_([r.id for r in rows])))
        return sorted({str(r.sha256) for r in rows})

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

    def _queue_webhook(self, conn: Connection, job_id: str, body: str | None, now: float) -> None:
        if body is None:
            return
        row = conn.execute(select(jobs.c.tenant_id, jobs.c.webhook_url).where(jobs.c.id == job_id)).first()
        if row is None or not row.webhook_url:
            return
        conn.execute(
            insert(webhook_deliveries).values(
                job_id=job_id,
                tenant_id=row.tenant_id,
                url=row.webhook_url,
                body=body,
                status="pending",
                attempts=0,
                next_at=now,
                created_at=now,
            )
        )

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

    # ---- webhooks -----------------------------------------------------------------------

    def claim_webhook(self, lease_s: float, now: float | None = None) -> WebhookDelivery | None:
        """The oldest due delivery of a tenant with none in flight: a tenant whose receiver hangs holds
        one sender, however many of its webhooks wait."""
        now = now or time.time()
        other = webhook_deliveries.alias("in_flight")
        in_flight = select(other.c.tenant_id).where(other.c.status == "pending", other.c.lease_expires_at >= now)
        due = and_(
            webhook_deliveries.c.status == "pending",
            webhook_deliveries.c.next_at <= now,
            or_(webhook_deliveries.c.lease_expires_at.is_(None), webhook_deliveries.c.lease_expires_at < now),
        )
        with self._write() as conn:
            row = conn.execute(
                select(webhook_deliveries)
                .where(due, webhook_deliveries.c.tenant_id.not_in(in_flight))
                .order_by(webhook_deliveries.c.next_at)
                .limit(1)
            ).first()
            if row is None:
                return None
            # PostgreSQL: claims for one tenant queue on its row, and the update below (a new snapshot)
            # sees what the one before took. SQLite holds the database's write lock already.
            conn.execute(select(tenants.c.id).where(tenants.c.id == row.tenant_id).with_for_update())
            taken = conn.execute(
                update(webhook_deliveries)
                .where(
                    webhook_deliveries.c.id == row.id,
                    due,
                    ~in_flight.where(other.c.tenant_id == row.tenant_id).exists(),
                )
                .values(lease_expires_at=now + lease_s)
            ).rowcount
        if not taken:
            return None
        return WebhookDelivery(
            id=row.id, job_id=row.job_id, tenant_id=row.tenant_id, url=row.url, body=row.body, attempts=row.attempts
        )

    def webhook_result(self, delivery_id: int, *, delivered: bool, error: str | None, next_at: float | None) -> None:
        """``next_at`` None after a failure means no more attempts."""
        values: dict[str, Any] = {
            "attempts": webhook_deliveries.c.attempts + 1,
            "lease_expires_at": None,
            "last_error": error[:500] if error else None,
        }
        if delivered:
            values["status"] = "delivered"
        elif next_at is None:
            values["status"] = "failed"
        else:
            values["next_at"] = next_at
        with self._write() as conn:
            conn.execute(update(webhook_deliveries).where(webhook_deliveries.c.id == delivery_id).values(**values))

    def webhooks(self, job_id: str) -> list[dict[str, Any]]:
        with self._read() as conn:
            rows = conn.execute(select(webhook_deliveries).where(webhook_deliveries.c.job_id == job_id)).all()
        return [dict(r._mapping) for r in rows]

    def tenant_secret(self, tenant_id: str) -> str | None:
        with self._read() as conn:
            value = conn.execute(select(tenants.c.webhook_secret).where(tenants.c.id == tenant_id)).scalar()
        return str(value) if value is not None else None


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
