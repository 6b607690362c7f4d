"""Prometheus metrics: jobs by state (from the database, so every node reports the same), stage
latencies, LLM tokens and cache hits (counted where the work runs), HTTP request latency."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from llm_sentiment.llm.base import LLMResponse

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)


class _JobStates(Collector):
    def __init__(self, counts: Callable[[], dict[str, int]]) -> None:
        self._counts = counts

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("llm_sentiment_jobs", "Jobs in the database by state.", labels=["state"])
        for state, count in self._counts().items():
            family.add_metric([state], count)
        yield family


class Telemetry:
    def __init__(self, job_counts: Callable[[], dict[str, int]] | None = None) -> None:
        self.registry = CollectorRegistry()
        if job_counts is not None:
            self.registry.register(_JobStates(job_counts))
        self.stage_seconds = Histogram(
            "llm_sentiment_stage_seconds",
            "Time spent in each job stage.",
            ["stage"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.jobs_finished = Counter(
            "llm_sentiment_jobs_finished", "Jobs finished by this process.", ["status"], registry=self.registry
        )
        self.llm_tokens = Counter(
            "llm_sentiment_llm_tokens", "LLM tokens by kind and model.", ["kind", "model"], registry=self.registry
        )
        self.llm_requests = Counter(
            "llm_sentiment_llm_requests",
            "LLM requests by model and cache result.",
            ["model", "cache"],
            registry=self.registry,
        )
        self.llm_seconds = Histogram(
            "llm_sentiment_llm_seconds",
            "LLM request latency (cache misses).",
            ["model"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.http_seconds = Histogram(
            "llm_sentiment_http_request_seconds",
            "HTTP request latency by route and status.",
            ["method", "route", "status"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )

    def observe_llm(self, response: LLMResponse) -> None:
        cache = "hit" if response.cache_hit else "miss"
        self.llm_requests.labels(model=response.model, cache=cache).inc()
        if response.cache_hit:
            return
        self.llm_tokens.labels(kind="prompt", model=response.model).inc(response.prompt_tokens)
        self.llm_tokens.labels(kind="completion", model=response.model).inc(response.completion_tokens)
        self.llm_seconds.labels(model=response.model).observe(response.latency_s)
