"""A transcript that crashes native code fails its own job, never the server: a real `llm-sentiment serve` runs the
embedded llama.cpp model in its child process, a fault hook aborts that process whenever a request carries one
transcript's marker, and two healthy jobs run beside the poison job on two workers."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from llm_sentiment.service.store import JobStore
from tests.integration.servers import llm_sentiment, service_env, wait_for
from tests.integration.test_faults import Serve, completions, new_key

pytestmark = pytest.mark.real_model

POISON = "POISON-7f3a"
SHORT = (
    "Agent: Thanks for calling Acme, how can I help?\n"
    "Customer: My order arrived broken and I'm really annoyed.\n"
    "Agent: I'm sorry about that, I've sent a replacement today.\n"
    "Customer: Great, thank you so much!\n"
)


class HealthWatch:
    """Polls /healthz every 50 ms until stopped, counting answers that are not 200 (or no answer at all)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.ok = 0
        self.failed: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=2) as client:
            while not self._stop.wait(0.05):
                try:
                    status = client.get(f"{self.url}/healthz").status_code
                except httpx.HTTPError as exc:
                    self.failed.append(type(exc).__name__)
                    continue
                if status == 200:
                    self.ok += 1
                else:
                    self.failed.append(str(status))

    def __enter__(self) -> HealthWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def test_a_poison_job_crashes_only_itself(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = service_env(
        data,
        model="local/qwen2.5-coder-0.5b",
        job_max_attempts=2,
        job_retry_delay_s=0,
        sweep_interval_s=0.5,
        test_abort_on=POISON,
    )
    key = new_key(data)
    server = Serve(tmp_path, env, workers=2)
    server.start()
    assert server.process is not None
    started = time.monotonic()
    try:
        with (
            httpx.Client(base_url=server.url, headers={"authorization": key}, timeout=30) as client,
            HealthWatch(server.url) as health,
        ):
            poison = SHORT.replace("really annoyed.", f"really annoyed. {POISON}")
            submitted = (("healthy-1", SHORT + "Agent: Reference 1."), ("poison", poison), ("healthy-2", SHORT))
            ids = {
                name: client.post("/v1/transcripts", json={"transcript": text}).json()["job_id"]
                for name, text in submitted
            }
            finished = {}
            for name, job_id in ids.items():
                finished[name] = wait_for(
                    lambda j=job_id: (
                        (body := client.get(f"/v1/jobs/{j}").json())["status"] in ("completed", "error") and body
                    ),
                    600,
                    f"{name} to finish",
                    interval_s=0.5,
                )
        seconds = time.monotonic() - started
        print(
            f"\n{seconds:.0f}s; /healthz answered 200 {health.ok} times, otherwise {len(health.failed)} times; "
            + "; ".join(
                f"{n}: {b['status']} after {b['attempts']} run(s) {b['error'] or ''}" for n, b in finished.items()
            )
        )
        assert server.process.proc.poll() is None, "the server is still running"
        assert health.failed == [] and health.ok > 0, "/healthz answered throughout"
        for name in ("healthy-1", "healthy-2"):
            assert finished[name]["status"] == "completed" and finished[name]["attempts"] == 1, name
            assert client_get(server.url, key, f"/v1/analysis/{ids[name]}").status_code == 200
        crashed = finished["poison"]
        assert crashed["status"] == "error" and crashed["attempts"] == 2
        assert crashed["error"]["code"] == "job.worker_crashed" and "SIGABRT" in crashed["error"]["message"]
        store = JobStore.open(f"sqlite:///{data / 'jobs.db'}")
        try:
            assert completions(store, list(ids.values())) == {ids["healthy-1"]: 1, ids["healthy-2"]: 1}
            assert [e["event"] for e in store.events(ids["poison"])] == [
                "accepted",
                "claimed",
                "retry",
                "claimed",
                "error",
            ]
        finally:
            store.close()
    finally:
        server.stop()


def client_get(url: str, key: str, path: str) -> httpx.Response:
    return httpx.get(f"{url}{path}", headers={"authorization": key}, timeout=30)


def test_analyze_turns_a_native_crash_into_its_error_and_exit_code(tmp_path: Path) -> None:
    call = tmp_path / "poison.txt"
    call.write_text(SHORT.replace("really annoyed.", f"really annoyed. {POISON}"), encoding="utf-8")
    env = service_env(tmp_path / "data", test_abort_on=POISON)
    done = subprocess.run(
        llm_sentiment("analyze", str(call), "--model", "local/qwen2.5-coder-0.5b", "--no-segments", "--no-summary"),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 45, done.stderr
    assert "error [native.crashed]" in done.stderr and "SIGABRT" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
