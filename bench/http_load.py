"""Load on the HTTP API over loopback, with the FakeLLM so the numbers are the service's own.

The server (a real uvicorn, ``create_app`` with ``FakeLLM(delay_s=...)`` and N embedded workers)
runs in a child process; this process drives ``--clients`` concurrent clients that submit
``--jobs`` transcripts (``POST /v1/transcripts``) and, while the workers are saturated by the
backlog, poll ``GET /v1/jobs/{id}``, read ``GET /v1/analysis/{id}`` and ``GET /v1/insights/{id}``
(random ``type``/``speaker``/``granularity``) and probe ``GET /healthz``; then every client reads
insights of the completed jobs as fast as it can (``--insights`` requests in all). It prints
throughput and p50/p95/p99 per endpoint, the health latency idle vs saturated (the ratio), and
checks that no request was lost: every POST answered 202, every job completed, every insights
read answered 200. Bounded in count (``--jobs``, ``--insights``) and time (``--max-seconds``).

    .venv/bin/python bench/http_load.py --clients 16 --jobs 200 --workers 2 --llm-delay 0.05
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import random
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

CALL = (REPO / "examples" / "billing_dispute.txt").read_text(encoding="utf-8")
HEALTH_TARGET_P99_MS = 50.0


def _serve(port: int, data_dir: str, workers: int, delay_s: float, key_file: str) -> None:
    import uvicorn

    from llm_sentiment.llm.testing import FakeLLM, schema_answer
    from llm_sentiment.service.http.app import create_app
    from llm_sentiment.settings import Settings

    settings = Settings(data_dir=Path(data_dir), cache=False, rate_limit_per_s=0)
    app = create_app(settings, llm=FakeLLM(respond=schema_answer, delay_s=delay_s), workers=workers)
    key = app.state.service.keys.create("bench", frozenset({"ingest", "insights:read", "admin"})).key  # admin: /metrics
    Path(key_file).write_text(key, encoding="utf-8")
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


@dataclass
class Series:
    latencies_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    started: float = 0.0
    ended: float = 0.0

    def add(self, started: float, status: int | str, ok: bool) -> None:
        self.latencies_ms.append((time.perf_counter() - started) * 1000)
        if not ok:
            self.errors[str(status)] = self.errors.get(str(status), 0) + 1

    def row(self, name: str) -> str:
        values = sorted(self.latencies_ms)
        if not values:
            return f"{name:<28} {'-':>7}"
        span = max(self.ended - self.started, 1e-9)
        p50, p95, p99 = (_percentile(values, q) for q in (50, 95, 99))
        errors = ",".join(f"{k}:{v}" for k, v in self.errors.items()) or "0"
        return (
            f"{name:<28} {len(values):>7} {len(values) / span:>9.1f} {p50:>8.1f} {p95:>8.1f} {p99:>8.1f} "
            f"{values[-1]:>8.1f}  {errors}"
        )


def _percentile(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


async def _timed(
    client: httpx.AsyncClient, series: Series, method: str, url: str, **kwargs: object
) -> httpx.Response | None:
    started = time.perf_counter()
    try:
        response = await client.request(method, url, **kwargs)  # type: ignore[arg-type]
    except httpx.HTTPError as exc:
        series.add(started, type(exc).__name__, ok=False)
        return None
    series.add(started, response.status_code, ok=response.status_code < 400)
    return response


def _health_probe(url: str, interval_s: float, stop: Any, results: Any) -> None:
    """Probes /healthz from a process of its own, so the load clients' own work does not delay it."""
    latencies: list[float] = []
    errors = 0
    with httpx.Client(timeout=10) as client:
        while not stop.is_set():
            started = time.perf_counter()
            try:
                ok = client.get(url).status_code == 200
            except httpx.HTTPError:
                ok = False
            latencies.append((time.perf_counter() - started) * 1000)
            errors += not ok
            time.sleep(interval_s)
    results.put((latencies, errors))


class Probe:
    def __init__(self, url: str, interval_s: float = 0.01) -> None:
        context = multiprocessing.get_context("spawn")
        self.stop = context.Event()
        self.results: Any = context.Queue()
        self.process = context.Process(target=_health_probe, args=(url, interval_s, self.stop, self.results))
        self.series = Series()

    def __enter__(self) -> Probe:
        self.process.start()
        self.series.started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        latencies, errors = self.results.get(timeout=30)
        self.process.join(timeout=10)
        self.series.ended = time.perf_counter()
        self.series.latencies_ms = latencies
        if errors:
            self.series.errors["failed"] = errors


async def run(args: argparse.Namespace, base_url: str, key: str) -> int:
    """Three phases: idle; a burst of submissions (the API under client load); the backlog draining
    (the workers saturated) while readers poll at a steady pace."""
    limits = httpx.Limits(max_connections=args.clients + 2, max_keepalive_connections=args.clients + 2)
    headers = {"authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits, timeout=60) as client:
        with Probe(f"{base_url}/healthz") as idle_probe:
            await asyncio.sleep(3.0)

        post, poll, read, insight, insight_burst = Series(), Series(), Series(), Series(), Series()
        job_ids: list[str] = []
        completed: set[str] = set()
        deadline = time.monotonic() + args.max_seconds
        pending = list(range(args.jobs))

        async def submitter() -> None:
            while pending and time.monotonic() < deadline:
                n = pending.pop()
                body = {"transcript": f"{CALL}\nRep: Reference {n}-{random.random():.6f}."}
                response = await _timed(client, post, "POST", "/v1/transcripts", json=body)
                if response is not None and response.status_code == 202:
                    job_ids.append(response.json()["job_id"])

        async def reader() -> None:
            while len(completed) < len(job_ids) and time.monotonic() < deadline:
                job_id = random.choice([j for j in job_ids if j not in completed])
                response = await _timed(client, poll, "GET", f"/v1/jobs/{job_id}")
                if response is not None and response.status_code == 200 and response.json()["status"] == "completed":
                    completed.add(job_id)
                    await _timed(client, read, "GET", f"/v1/analysis/{job_id}")
                    await _timed(client, insight, "GET", f"/v1/insights/{job_id}", params=_insights_query())
                await asyncio.sleep(args.poll_interval)

        insights_left = [args.insights]

        async def insights_reader() -> None:
            while insights_left[0] > 0 and completed and time.monotonic() < deadline:
                insights_left[0] -= 1
                job_id = random.choice(sorted(completed))
                await _timed(client, insight_burst, "GET", f"/v1/insights/{job_id}", params=_insights_query())

        with Probe(f"{base_url}/healthz") as burst_probe:
            post.started = time.perf_counter()
            await asyncio.gather(*(submitter() for _ in range(args.clients)))
            post.ended = time.perf_counter()
        backlog = await _backlog(client)
        with Probe(f"{base_url}/healthz") as drain_probe:
            poll.started = read.started = insight.started = time.perf_counter()
            await asyncio.gather(*(reader() for _ in range(args.clients)))
            poll.ended = read.ended = insight.ended = time.perf_counter()
        with Probe(f"{base_url}/healthz") as insights_probe:
            insight_burst.started = time.perf_counter()
            await asyncio.gather(*(insights_reader() for _ in range(args.clients)))
            insight_burst.ended = time.perf_counter()

        lost = [j for j in job_ids if j not in completed]
        for job_id in lost[:]:
            if (await client.get(f"/v1/jobs/{job_id}")).json()["status"] == "completed":
                lost.remove(job_id)

    idle, burst, drain = idle_probe.series, burst_probe.series, drain_probe.series
    print(
        f"\n{args.jobs} jobs, {args.clients} clients, {args.workers} workers, "
        f"FakeLLM delay {args.llm_delay}s/question, readers poll every {args.poll_interval}s"
    )
    print(f"{'endpoint':<34} {'n':>7} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}  errors")
    print(post.row("POST /v1/transcripts (burst)"))
    print(poll.row("GET /v1/jobs/{id}"))
    print(read.row("GET /v1/analysis/{id}"))
    print(insight.row("GET /v1/insights/{id} (draining)"))
    print(insight_burst.row("GET /v1/insights/{id} (burst)"))
    print(idle.row("GET /healthz idle"))
    print(burst.row("GET /healthz during the burst"))
    print(drain.row("GET /healthz, workers saturated"))
    print(insights_probe.series.row("GET /healthz, insights burst"))
    print(f"backlog after the burst: {backlog} jobs queued or running; drained in {drain.ended - drain.started:.1f}s")
    idle_p99 = _percentile(sorted(idle.latencies_ms), 99)
    busy_p99 = _percentile(sorted(drain.latencies_ms), 99)
    verdict = "met" if busy_p99 < HEALTH_TARGET_P99_MS else "NOT met"
    print(
        f"health p99 with the workers saturated / idle: {busy_p99:.1f} / {idle_p99:.1f} ms = "
        f"{busy_p99 / max(idle_p99, 1e-9):.2f}x (target < {HEALTH_TARGET_P99_MS:.0f} ms: {verdict})"
    )
    refused = sum(post.errors.values())
    failed_insights = sum(insight.errors.values()) + sum(insight_burst.errors.values())
    print(
        f"requests lost: {refused} refused submissions, {len(lost)} of {len(job_ids)} jobs not completed, "
        f"{failed_insights} insights reads failed"
    )
    return 0 if not lost and not refused and not failed_insights and len(job_ids) == args.jobs else 1


def _insights_query() -> dict[str, str]:
    query = {
        "type": random.choice(["all", "sentiment", "behavioral", "summary"]),
        "granularity": random.choice(["segment", "minute", "call"]),
    }
    if random.random() < 0.5:
        query["speaker"] = random.choice(["Agent", "Customer"])
    return query


async def _backlog(client: httpx.AsyncClient) -> int:
    response = await client.get("/metrics")
    response.raise_for_status()  # the bench key has the admin scope /metrics needs
    metrics = response.text
    waiting = 0
    for line in metrics.splitlines():
        if line.startswith(('llm_sentiment_jobs{state="queued"}', 'llm_sentiment_jobs{state="processing"}')):
            waiting += int(float(line.split()[-1]))
    return waiting


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not come up in {timeout_s}s")
        time.sleep(0.1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (half submit, half read)")
    parser.add_argument("--jobs", type=int, default=200, help="transcripts submitted (bounded)")
    parser.add_argument("--workers", type=int, default=2, help="embedded worker threads")
    parser.add_argument("--llm-delay", type=float, default=0.05, help="FakeLLM seconds per question")
    parser.add_argument("--insights", type=int, default=1000, help="insights reads in the final burst (bounded)")
    parser.add_argument("--poll-interval", type=float, default=0.1, help="each reader's pause between polls")
    parser.add_argument("--max-seconds", type=float, default=300, help="stop after this long regardless")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="http-load-") as tmp:
        port = free_port()
        key_file = Path(tmp) / "key"
        context = multiprocessing.get_context("spawn")
        server = context.Process(
            target=_serve,
            args=(port, str(Path(tmp) / "data"), args.workers, args.llm_delay, str(key_file)),
            daemon=True,
        )
        server.start()
        try:
            base_url = f"http://127.0.0.1:{port}"
            _wait_until_up(f"{base_url}/healthz", 60)
            return asyncio.run(run(args, base_url, key_file.read_text(encoding="utf-8")))
        finally:
            server.terminate()
            server.join(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
