"""Wiring of the HTTP service's parts from settings, shared by ``serve`` (API + embedded workers)
and ``worker`` (a worker node): job store, input store, keys, LLM, dispatcher, background loops."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

from llm_sentiment._util.jsoncache import JsonCache
from llm_sentiment.analysis.analyzer import Analyzer
from llm_sentiment.llm.base import LLMClient
from llm_sentiment.llm.cached import ResponseCache
from llm_sentiment.llm.config import RouterConfig
from llm_sentiment.llm.metered import MeteredLLM
from llm_sentiment.service.store import JobStore
from llm_sentiment.settings import Settings
from llm_sentiment.wiring import build_analyzer, build_llm

from .auth import KeyStore, RateLimiter
from .blobs import BlobStore
from .telemetry import Telemetry
from .webhooks import WebhookSender
from .worker import JobRunner, Maintenance, WorkerPool, worker_name

log = logging.getLogger(__name__)


class Dispatcher(Protocol):
    def send(self, job_id: str) -> None: ...

    def ping(self) -> None: ...


class EmbeddedDispatcher:
    """Wakes the embedded pool; the jobs themselves are already in the database."""

    def __init__(self, wake: threading.Event) -> None:
        self.wake = wake

    def send(self, job_id: str) -> None:
        self.wake.set()

    def ping(self) -> None:
        return None


class Service:
    def __init__(self, settings: Settings, llm: LLMClient | None = None) -> None:
        """``llm`` replaces the router-built client (tests and benchmarks pass a FakeLLM)."""
        self.settings = settings
        self.store = JobStore.open(settings.db_url)
        self.blobs = BlobStore(settings.data_path / "inputs")
        self.keys = KeyStore(self.store)
        self.limiter = RateLimiter(settings.rate_limit_per_s, settings.rate_limit_burst)
        self.telemetry = Telemetry(self.store.counts)
        self.router_config = RouterConfig.load(settings.router_config)
        self._preload: Callable[[str], None] | None = None
        if llm is None:
            llm, self.cache = build_llm(settings)
            self._preload = llm.preload  # type: ignore[attr-defined]  # the router's, forwarded by its wrappers
        else:
            cache = getattr(llm, "cache", None)  # a cached client's store, when the caller passes one
            self.cache = cache if isinstance(cache, ResponseCache) else None
        self.llm: LLMClient = MeteredLLM(llm, self.telemetry.observe_llm)
        # Every cache that may hold a job's text: deleting the job's input evicts what it stored.
        self.caches: list[JsonCache] = [c for c in (self.cache,) if c is not None]
        if settings.cache:
            self.caches.append(JsonCache(settings.transcript_cache_dir))
        self.runner = JobRunner(self.store, self.blobs, settings, self.llm, self.telemetry)
        self.pool: WorkerPool | None = None
        self.dispatcher: Dispatcher
        if settings.broker_url:
            from .celery_app import CeleryDispatcher

            self.dispatcher = CeleryDispatcher(settings.broker_url, settings.job_lease_s)
        else:
            self.wake = threading.Event()
            self.dispatcher = EmbeddedDispatcher(self.wake)
        redispatch = None if self.embedded else self.dispatcher.send
        self.maintenance = Maintenance(self.store, self.blobs, settings, redispatch=redispatch, caches=self.caches)
        self.model_state = "loading" if self._preload is not None else "ready"
        self.model_error: str | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def embedded(self) -> bool:
        return not self.settings.broker_url

    def preload_model(self) -> None:
        """Load the default model (in the background), so /readyz can say when jobs can start."""
        if self._preload is None:
            return
        try:
            self._preload(self.settings.model)
            self.model_state = "ready"
        except Exception as exc:
            self.model_state = "error"
            self.model_error = str(exc)
            log.error("loading the model failed: %s", exc)

    def start(self, workers: int, *, preload: bool = True) -> None:
        """Start the background loops: model preload, embedded workers (no broker), upkeep, webhooks."""
        if preload:
            self._spawn("model-preload", self.preload_model)
        elif self.model_state == "loading":
            self.model_state = "loaded on first use"
        if self.embedded and workers > 0:
            self.pool = WorkerPool(self.store, self.runner, self.settings, workers)
            self.pool.wake = self.wake
            self.pool.start()
        self._spawn("maintenance", self.maintenance.run, self._stop)
        sender = WebhookSender(
            self.store,
            allow_private=self.settings.webhook_allow_private,
            timeout_s=self.settings.webhook_timeout_s,
            max_attempts=self.settings.webhook_max_attempts,
            backoff_base_s=self.settings.webhook_backoff_s,
            concurrency=self.settings.webhook_concurrency,
        )
        self._spawn("webhooks", sender.run, self._stop, 1.0)

    def _spawn(self, name: str, target: Callable[..., object], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def analyzer(self, *, model: str | None = None, prompts_version: str | None = None) -> Analyzer:
        """An analyzer over the service's metered LLM, for the routes that answer synchronously."""
        return build_analyzer(self.settings, self.llm, model=model, prompts_version=prompts_version)

    def dispatch(self, job_id: str) -> None:
        """Tell the workers a job is waiting (QueueUnavailableError: the sweeper re-sends it later)."""
        self.dispatcher.send(job_id)
        if not self.embedded:
            self.store.mark_dispatched(job_id)

    def execute(self, job_id: str) -> str:
        """Run one job if it can be claimed (a Celery task's body)."""
        worker = worker_name(threading.current_thread().name)
        claimed = self.store.claim(worker, self.settings.job_lease_s, self.settings.job_max_attempts, job_id=job_id)
        if claimed is None:
            return "skipped"
        return self.runner.run(claimed, worker)

    def stop(self) -> None:
        self._stop.set()
        if self.pool is not None:
            self.pool.stop()
        for thread in self._threads:
            thread.join(timeout=2)
        for cache in self.caches:
            cache.close()
        self.store.close()
