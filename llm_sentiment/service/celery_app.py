"""Jobs through Celery on Redis, when ``LLM_SENTIMENT_BROKER_URL`` is set.

The broker only says "job X is waiting"; the database says who runs it. A task claims its job
under a lease (``JobStore.claim``) and does nothing if it cannot, so a message delivered twice
(Celery's redelivery after a lost worker, or our sweeper re-sending a job whose lease expired)
never runs a job twice. Messages are acknowledged late and the sweeper re-sends jobs that no
worker holds, so a job survives a worker killed mid-run and a broker that lost its messages.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from celery import Celery

from llm_sentiment.errors import QueueUnavailableError

log = logging.getLogger(__name__)

TASK = "llm_sentiment.run_job"
QUEUE = "llm-sentiment-jobs"

_runtime: dict[str, Any] = {}


def make_celery(broker_url: str, lease_s: float) -> Celery:
    app = Celery("llm_sentiment", broker=broker_url, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        task_default_queue=QUEUE,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": max(60.0, 4 * lease_s)},
    )

    @app.task(name=TASK, ignore_result=True)  # type: ignore[untyped-decorator]
    def run_job(job_id: str) -> str:
        execute = _runtime.get("execute")
        if execute is None:
            raise RuntimeError("the worker's job runner is not set up")
        return str(execute(job_id))

    return app


class CeleryDispatcher:
    """Hands job ids to the Celery workers; fails fast when Redis is down (the sweeper re-sends)."""

    def __init__(self, broker_url: str, lease_s: float) -> None:
        self.broker_url = broker_url
        self.app = make_celery(broker_url, lease_s)
        self._lock = threading.Lock()

    def send(self, job_id: str) -> None:
        try:
            with self._lock:
                self.app.send_task(
                    TASK,
                    args=[job_id],
                    queue=QUEUE,
                    retry=True,
                    retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5},
                )
        except Exception as exc:  # kombu raises its own and OSError subclasses
            raise QueueUnavailableError(
                f"the job queue is unreachable: {exc}",
                hint="The job is stored and will be dispatched when the broker is back.",
            ) from exc

    def ping(self) -> None:
        import redis

        try:
            redis.Redis.from_url(self.broker_url, socket_timeout=2, socket_connect_timeout=2).ping()
        except redis.RedisError as exc:
            raise QueueUnavailableError(f"the job queue is unreachable: {exc}") from exc


def run_worker(app: Celery, execute: Any, concurrency: int, hostname: str) -> None:
    """Start a Celery worker in this process (blocks until it stops)."""
    _runtime["execute"] = execute
    app.worker_main(
        [
            "worker",
            f"--concurrency={concurrency}",
            "--pool=threads",
            f"--queues={QUEUE}",
            f"--hostname={hostname}",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
        ]
    )
