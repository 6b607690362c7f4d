"""Running jobs: one job under its lease (``JobRunner``), the embedded pool of worker threads that
``serve`` starts, and the periodic upkeep every worker node runs (``Maintenance``).

A job runs the same pipeline as ``llm-sentiment analyze``: parse the stored transcript with
``formats.parse_transcript`` or transcribe the stored recording with ``pipeline.load_call`` (stage
``transcribing``), assign roles, and for ``full-analysis`` run the ``Analyzer``. The
lease is renewed by a heartbeat while the job runs and at every answered question; a worker that
lost its lease stops at the next question and writes nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, cast

from llm_sentiment._util.jsoncache import JsonCache, tagged
from llm_sentiment.analysis.result import Analysis
from llm_sentiment.errors import (
    InputError,
    LLMSentimentError,
    NativeCrashError,
    ProviderError,
    ProviderRejectedError,
    WorkerCrashedError,
)
from llm_sentiment.llm.base import LLMClient
from llm_sentiment.roles.rules import assign_roles, parse_roles_spec
from llm_sentiment.service.store import Claimed, Job, JobStore, Stage, webhook_body
from llm_sentiment.settings import Settings
from llm_sentiment.speech.recording import AudioOptions
from llm_sentiment.transcript.formats import InputFormat, parse_transcript
from llm_sentiment.transcript.model import Transcript
from llm_sentiment.wiring import build_analyzer, build_role_question, load_call

from .blobs import BlobStore
from .telemetry import Telemetry

log = logging.getLogger(__name__)

_PARSED_AT = 0.05
_TRANSCRIBED_AT = 0.3  # share of a full analysis of a recording that transcribing it counts for
_PROGRESS_STEP = 0.02  # smallest progress change written while transcribing
_BLOB_GRACE_S = 120.0
_ORPHAN_SCAN_S = 300.0  # how often the input store and the caches are checked for inputs nothing uses
_ORPHAN_BATCH = 500
_RESEND_AFTER_S = 300.0  # a queued job not taken this long after sending: the broker lost it


def worker_name(suffix: str = "") -> str:
    base = f"{socket.gethostname()}:{os.getpid()}"
    return f"{base}:{suffix}" if suffix else base


class LeaseLostError(Exception):
    """Another worker owns the job now (ours expired), or the job was deleted."""


class _Heartbeat:
    """Renews a lease in the background, for questions that take longer than the lease."""

    def __init__(self, store: JobStore, job_id: str, token: str, lease_s: float) -> None:
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._args = (store, job_id, token, lease_s)
        self._thread = threading.Thread(target=self._run, name=f"lease-{job_id}", daemon=True)

    def _run(self) -> None:
        store, job_id, token, lease_s = self._args
        while not self._stop.wait(lease_s / 3):
            try:
                if not store.renew(job_id, token, lease_s):
                    self.lost.set()
                    return
            except Exception:
                log.exception("renewing the lease of %s failed; trying again", job_id)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


class JobRunner:
    def __init__(
        self, store: JobStore, blobs: BlobStore, settings: Settings, llm: LLMClient, telemetry: Telemetry
    ) -> None:
        self.store = store
        self.blobs = blobs
        self.settings = settings
        self.llm = llm
        self.telemetry = telemetry

    def run(self, claimed: Claimed, worker: str) -> str:
        """Run a claimed job to its end; returns its final status (or ``lost``/``retry``)."""
        job, token = claimed.job, claimed.token
        try:
            with (
                tagged(job.input_sha256),
                _Heartbeat(self.store, job.id, token, self.settings.job_lease_s) as heartbeat,
            ):
                analysis = self._execute(job, token, heartbeat)
        except LeaseLostError:
            log.warning("job %s: lease lost; another worker has it or it was deleted", job.id)
            return "lost"
        except ProviderError as exc:
            if not isinstance(exc, ProviderRejectedError) and job.attempts < self.settings.job_max_attempts:
                self.store.retry_later(
                    job.id, token, worker=worker, delay_s=self.settings.job_retry_delay_s, reason=exc.message
                )
                return "retry"
            return self._fail(job, token, worker, exc.code, exc.message)
        except NativeCrashError as exc:
            # Only the job whose request was running dies with the native process; the others go on.
            if job.attempts < self.settings.job_max_attempts:
                self.store.retry_later(
                    job.id, token, worker=worker, delay_s=self.settings.job_retry_delay_s, reason=exc.message
                )
                return "retry"
            native = " | ".join(exc.details.get("native") or [])
            message = f"{exc.message}, on each of its {job.attempts} runs"
            message += f"; last output: {native}" if native else ""
            return self._fail(job, token, worker, WorkerCrashedError.code, message)
        except LLMSentimentError as exc:
            return self._fail(job, token, worker, exc.code, exc.message)
        except Exception as exc:
            log.exception("job %s failed unexpectedly", job.id)
            return self._fail(job, token, worker, "internal", f"{type(exc).__name__}: {exc}")
        tokens = (
            (sum(p.prompt_tokens for p in analysis.provenance), sum(p.completion_tokens for p in analysis.provenance))
            if analysis
            else (0, 0)
        )
        finished = self.store.finish(
            job.id,
            token,
            worker=worker,
            retention_s=self.settings.retention_hours * 3600,
            analysis_json=analysis.model_dump_json() if analysis else None,
            tokens=tokens,
            webhook_body=webhook_body(job.id, "completed", job.pipeline, None),
        )
        if not finished:
            return "lost"
        self.telemetry.jobs_finished.labels(status="completed").inc()
        return "completed"

    def _fail(self, job: Job, token: str, worker: str, code: str, message: str) -> str:
        error = (code, message)
        if not self.store.finish(
            job.id,
            token,
            worker=worker,
            retention_s=self.settings.retention_hours * 3600,
            error=error,
            webhook_body=webhook_body(job.id, "error", job.pipeline, error),
        ):
            return "lost"
        self.telemetry.jobs_finished.labels(status="error").inc()
        return "error"

    def _stage(self, job: Job, token: str, stage: Stage, progress: float) -> None:
        if not self.store.progress(job.id, token, stage, progress, self.settings.job_lease_s):
            raise LeaseLostError(job.id)

    def _execute(self, job: Job, token: str, heartbeat: _Heartbeat) -> Analysis | None:
        started = time.monotonic()
        transcript = self._recording(job, token) if job.kind == "audio" else self._transcript(job, token)
        if not self.store.save_transcript(job.id, token, transcript.model_dump_json()):
            raise LeaseLostError(job.id)
        stage = "transcribing" if job.kind == "audio" else "parsing"
        self.telemetry.stage_seconds.labels(stage=stage).observe(time.monotonic() - started)
        if job.pipeline != "full-analysis":
            return None
        return self._analyze(job, token, transcript, heartbeat, _TRANSCRIBED_AT if job.kind == "audio" else _PARSED_AT)

    def _recording(self, job: Job, token: str) -> Transcript:
        """Decode, transcribe and tell the speakers apart, exactly as ``analyze call.wav`` does."""
        self._stage(job, token, "transcribing", 0.0)
        options = job.options
        span = _TRANSCRIBED_AT if job.pipeline == "full-analysis" else 1 - _PARSED_AT
        written = 0.0

        def heard(_stage: str, fraction: float) -> None:
            nonlocal written
            if span * fraction - written >= _PROGRESS_STEP:
                written = span * fraction
                self._stage(job, token, "transcribing", written)

        question = build_role_question(
            self.settings, self.llm, model=options.model, prompts_version=options.prompts_version
        )
        return load_call(
            self.blobs.path(job.input_sha256),
            input_format="audio",
            roles=options.roles,
            audio=AudioOptions(language=options.language, channels=options.channels),
            settings=self.settings,
            question=question,
            progress=heard,
        )

    def _transcript(self, job: Job, token: str) -> Transcript:
        if job.kind != "transcript":
            raise InputError(f"job {job.id}: this worker cannot read {job.kind!r} inputs")
        self._stage(job, token, "parsing", 0.0)
        data = self.blobs.read(job.input_sha256)
        options = job.options
        transcript = parse_transcript(data, cast(InputFormat, options.input_format))
        return assign_roles(transcript, parse_roles_spec(options.roles) if options.roles else None)

    def _analyze(self, job: Job, token: str, transcript: Transcript, heartbeat: _Heartbeat, start: float) -> Analysis:
        self._stage(job, token, "analyzing", start)
        started = time.monotonic()
        options = job.options
        analyzer = build_analyzer(self.settings, self.llm, model=options.model, prompts_version=options.prompts_version)
        total = max(1, analyzer.steps(transcript, options.questions))
        done = 0

        def advance(_step: str) -> None:
            nonlocal done
            done = min(done + 1, total)
            if heartbeat.lost.is_set():
                raise LeaseLostError(job.id)
            self._stage(job, token, "analyzing", start + (1 - start) * done / total)

        analysis = analyzer.analyze(transcript, options.questions, progress=advance)
        self.telemetry.stage_seconds.labels(stage="analyzing").observe(time.monotonic() - started)
        return analysis


class WorkerPool:
    """``serve``'s embedded workers: threads that claim jobs straight from the database."""

    def __init__(self, store: JobStore, runner: JobRunner, settings: Settings, size: int) -> None:
        self.store = store
        self.runner = runner
        self.settings = settings
        self.size = size
        self.wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._held: dict[str, tuple[str, str]] = {}
        self._lock = threading.Lock()

    def start(self) -> None:
        for n in range(self.size):
            thread = threading.Thread(target=self._loop, args=(worker_name(f"w{n}"),), name=f"job-worker-{n}")
            thread.daemon = True
            thread.start()
            self._threads.append(thread)

    def _loop(self, worker: str) -> None:
        while not self._stop.is_set():
            try:
                claimed = self.store.claim(worker, self.settings.job_lease_s, self.settings.job_max_attempts)
            except Exception:
                log.exception("claiming a job failed; retrying")
                claimed = None
            if claimed is None:
                self.wake.wait(1.0)
                self.wake.clear()
                continue
            with self._lock:
                self._held[worker] = (claimed.job.id, claimed.token)
            try:
                self.runner.run(claimed, worker)
            finally:
                with self._lock:
                    self._held.pop(worker, None)

    def stop(self, wait_s: float = 2.0) -> None:
        """Stop claiming; give back the jobs still running so a restart takes them at once."""
        self._stop.set()
        self.wake.set()
        deadline = time.monotonic() + wait_s
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        with self._lock:
            held = list(self._held.items())
        for worker, (job_id, token) in held:
            self.store.release(job_id, token, worker=worker)


class Maintenance:
    """Upkeep that any number of nodes may run at once: every step is a conditional update."""

    def __init__(
        self,
        store: JobStore,
        blobs: BlobStore,
        settings: Settings,
        redispatch: Callable[[str], None] | None = None,
        caches: Sequence[JsonCache] = (),
    ) -> None:
        self.store = store
        self.blobs = blobs
        self.settings = settings
        self.redispatch = redispatch
        self.caches = caches
        self._next_orphan_scan = 0.0

    def release_input(self, sha256: str, grace_s: float = 0.0) -> None:
        """Once no job or upload uses an input: its stored file (untouched for ``grace_s``) and whatever
        the caches hold of it go."""
        if not self.store.input_in_use(sha256):
            self._remove_input(sha256, grace_s)

    def _remove_input(self, sha256: str, grace_s: float) -> None:
        self.blobs.remove(sha256, older_than_s=grace_s)
        for cache in self.caches:
            cache.evict(sha256)

    def _remove_orphans(self) -> None:
        """Inputs nothing uses that an earlier release left: a blob too young to go when its last job
        expired, a cache entry stored while its job was being deleted, another node's deletions."""
        candidates = set(self.blobs.stored()).union(*(cache.tags() for cache in self.caches))
        ordered = sorted(candidates)
        for start in range(0, len(ordered), _ORPHAN_BATCH):
            batch = ordered[start : start + _ORPHAN_BATCH]
            for sha256 in set(batch) - self.store.inputs_in_use(batch):
                self._remove_input(sha256, _BLOB_GRACE_S)

    def sweep(self, now: float | None = None) -> dict[str, Any]:
        now = now or time.time()
        retention_s = self.settings.retention_hours * 3600
        abandoned = self.store.abandon_exhausted(self.settings.job_max_attempts, retention_s, now=now)
        redispatched: list[str] = []
        if self.redispatch is not None:
            for job_id in self.store.due_for_dispatch(_RESEND_AFTER_S, now=now):
                try:
                    self.redispatch(job_id)
                    redispatched.append(job_id)
                except LLMSentimentError as exc:
                    log.warning("re-dispatching %s failed: %s", job_id, exc.message)
                    break
        expired = self.store.expired(now=now)
        for job in expired:
            self.store.delete(job.id, scrub=False)
            self.release_input(job.input_sha256, _BLOB_GRACE_S)
        if expired:
            self.store.scrub()
        for sha256 in self.store.expire_uploads(now=now):
            self.release_input(sha256, _BLOB_GRACE_S)
        if now >= self._next_orphan_scan:
            self._next_orphan_scan = now + _ORPHAN_SCAN_S
            self._remove_orphans()
        self.blobs.clean_tmp(older_than_s=max(3600.0, self.settings.job_lease_s))
        return {"abandoned": abandoned, "redispatched": redispatched, "expired": [j.id for j in expired]}

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(self.settings.sweep_interval_s):
            try:
                self.sweep()
            except Exception:
                log.exception("maintenance sweep failed; retrying")
