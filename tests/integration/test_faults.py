"""Faults with real processes: `llm-sentiment serve` killed (SIGKILL) or stopped mid-job and restarted;
Celery workers on a real redis-server with one killed mid-run. Jobs complete, none twice."""

from __future__ import annotations

import signal
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from llm_sentiment.service.auth import KeyStore
from llm_sentiment.service.http.app import create_app
from llm_sentiment.service.store import JobStore
from llm_sentiment.settings import Settings
from tests.integration.servers import (
    Process,
    free_port,
    llm_sentiment,
    llm_stub,
    redis_server,
    serve_app,
    service_env,
    stub_router_config,
    wait_for,
)
from tests.integration.test_api import CALL


def transcript(n: int) -> str:
    return f"{CALL}\nRep: Your reference number is {n}."


def new_key(data_dir: Path) -> str:
    store = JobStore.open(f"sqlite:///{data_dir / 'jobs.db'}")
    try:
        return KeyStore(store).create("qa", frozenset({"ingest", "insights:read"})).key
    finally:
        store.close()


def completions(store: JobStore, job_ids: list[str]) -> Counter[str]:
    return Counter(job_id for job_id in job_ids for event in store.events(job_id) if event["event"] == "completed")


class Serve:
    """`llm-sentiment serve` as a child process on a fixed port, restartable."""

    def __init__(self, tmp: Path, env: dict[str, str], workers: int = 1) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.tmp = tmp
        self.env = env
        self.workers = workers
        self.process: Process | None = None

    def start(self) -> None:
        args = llm_sentiment("serve", "--port", str(self.port), "--workers", str(self.workers), "--no-preload")
        self.process = Process(args, self.env, self.tmp / "serve.log")
        wait_for(lambda: httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200, 60, "serve to start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()


@pytest.fixture
def stub() -> Iterator[tuple[str, Any]]:
    with llm_stub(delay_s=0.25) as running:
        yield running


def test_killed_or_stopped_server_loses_no_job(tmp_path: Path, stub: tuple[str, Any]) -> None:
    api_base, _ = stub
    data = tmp_path / "data"
    env = service_env(
        data,
        router_config=stub_router_config(tmp_path / "models.yaml", api_base),
        model="stub",
        job_lease_s=2,
        sweep_interval_s=0.5,
    )
    key = new_key(data)
    server = Serve(tmp_path, env)
    server.start()
    headers = {"authorization": key}
    try:
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
            job_ids = [
                client.post("/v1/transcripts", json={"transcript": transcript(n)}).json()["job_id"] for n in range(3)
            ]
            wait_for(
                lambda: client.get(f"/v1/jobs/{job_ids[0]}").json()["progress"] > 0.2, 60, "the first job to progress"
            )
        assert server.process is not None
        server.process.kill()  # SIGKILL mid-job: its lease is left to expire
        store = JobStore.open(f"sqlite:///{data / 'jobs.db'}")
        first = store.get(job_ids[0])
        assert first is not None and first.status == "processing"

        server.start()
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
            for job_id in job_ids:
                wait_for(lambda j=job_id: client.get(f"/v1/jobs/{j}").json()["status"] == "completed", 90, job_id)
            questions = [{"question": f"What happened in minute {n}?"} for n in range(12)]  # outlasts the drain
            later = client.post("/v1/transcripts", json={"transcript": transcript(3), "questions": questions}).json()[
                "job_id"
            ]
            wait_for(lambda: client.get(f"/v1/jobs/{later}").json()["stage"] == "analyzing", 60, "the next job")
        assert server.process is not None
        server.process.proc.send_signal(signal.SIGTERM)  # graceful: a job still running after 2 s is handed back
        server.process.proc.wait(timeout=30)
        handed_back = store.get(later)
        assert handed_back is not None and handed_back.status == "queued" and handed_back.lease_token is None

        server.start()
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
            wait_for(lambda: client.get(f"/v1/jobs/{later}").json()["status"] == "completed", 90, later)
        everything = [*job_ids, later]
        assert completions(store, everything) == dict.fromkeys(everything, 1)
        first = store.get(job_ids[0])
        assert first is not None and first.attempts == 2
        assert [e["event"] for e in store.events(later)] == ["accepted", "claimed", "retry", "claimed", "completed"]
        store.close()
    finally:
        server.stop()


def test_celery_workers_on_redis_survive_a_killed_worker(tmp_path: Path, stub: tuple[str, Any]) -> None:
    api_base, stub_state = stub
    data = tmp_path / "data"
    router_config = stub_router_config(tmp_path / "models.yaml", api_base)
    with redis_server(tmp_path) as broker:
        options = {
            "router_config": router_config,
            "model": "stub",
            "broker_url": broker,
            "job_lease_s": 3,
            "sweep_interval_s": 0.5,
        }
        env = service_env(data, **options)
        workers = [
            Process(llm_sentiment("worker", "--concurrency", "2"), env, tmp_path / f"worker-{n}.log") for n in range(2)
        ]
        settings = Settings(data_dir=data, cache=False, **options)
        app = create_app(settings, workers=0, preload=False)
        key = app.state.service.keys.create("qa", frozenset({"ingest", "insights:read"})).key
        store: JobStore = app.state.service.store
        try:
            with (
                serve_app(app) as url,
                httpx.Client(base_url=url, headers={"authorization": key}, timeout=30) as client,
            ):
                job_ids = [
                    client.post("/v1/transcripts", json={"transcript": transcript(n)}).json()["job_id"]
                    for n in range(30)
                ]
                victim = workers[0]

                def victim_is_busy() -> bool:
                    done = sum(1 for j in job_ids if (job := store.get(j)) and job.status == "completed")
                    held = [
                        j for j in job_ids if (job := store.get(j)) and f":{victim.pid}:" in (job.lease_owner or "")
                    ]
                    return done >= 4 and bool(held)

                wait_for(victim_is_busy, 120, "the first worker to be mid-job", interval_s=0.1)
                interrupted = [j for j in job_ids if f":{victim.pid}:" in (store.get(j).lease_owner or "")]  # type: ignore[union-attr]
                victim.kill()
                wait_for(
                    lambda: all((job := store.get(j)) and job.status == "completed" for j in job_ids),
                    180,
                    "all 30 jobs",
                    interval_s=0.25,
                )
                counts = completions(store, job_ids)
                claims = Counter(j for j in job_ids for e in store.events(j) if e["event"] == "claimed")
                scraper = app.state.service.keys.create("scraper", frozenset({"admin"}), "ops").key
                metrics = client.get("/metrics", headers={"authorization": scraper}).text
        finally:
            for worker in workers:
                worker.stop()
        logs = "\n".join(w.output() for w in workers)
    assert counts == dict.fromkeys(job_ids, 1), logs[-3000:]
    assert interrupted and all(claims[j] >= 2 for j in interrupted)
    assert 'llm_sentiment_jobs{state="completed"} 30.0' in metrics
    assert stub_state.calls >= 30 * 6
    print(
        f"\n30 jobs on 2 Celery workers; killed worker pid {victim.pid} mid-job on {interrupted}; "
        f"claims {sum(claims.values())}, completions {sum(counts.values())}, LLM calls {stub_state.calls}"
    )
