"""The service's commands: keys (printed once, stored hashed), and `worker` without a broker."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from llm_sentiment.cli import main
from llm_sentiment.service.auth import KeyStore
from llm_sentiment.service.store import JobStore
from tests.integration.servers import Process, llm_sentiment, llm_stub, service_env, stub_router_config, wait_for
from tests.integration.test_api import CALL, running_api


def _run(*args: str, data: Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env={"LLM_SENTIMENT_DATA_DIR": str(data)}, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_keys_create_list_revoke(tmp_path: Path) -> None:
    status, key, notes = _run(
        "keys", "create", "--name", "qa tool", "--tenant", "acme", "--scopes", "ingest", data=tmp_path
    )
    assert status == 0 and key.startswith("lsk_") and "cannot be shown again" in notes and "whsec_" in notes
    key = key.strip()
    key_id = key.split("_")[1]
    status, listing, _ = _run("keys", "list", data=tmp_path)
    assert key_id in listing and "acme" in listing and "active" in listing and key not in listing
    store = JobStore.open(f"sqlite:///{tmp_path / 'jobs.db'}")
    assert KeyStore(store).authenticate(key).scopes == {"ingest"}
    assert _run("keys", "revoke", key_id, data=tmp_path)[0] == 0
    assert "revoked" in _run("keys", "list", data=tmp_path)[1]
    status, _, error = _run("keys", "revoke", key_id, data=tmp_path)
    assert status == 19 and "input.parameter" in error
    status, _, error = _run("keys", "create", "--name", "x", "--scopes", "root", data=tmp_path)
    assert status == 19 and "scopes" in error


def test_worker_without_a_broker_takes_jobs_from_the_database(tmp_path: Path) -> None:
    """An API with no workers of its own, and a separate `llm-sentiment worker` process sharing its database."""
    with (
        llm_stub() as (api_base, _),
        running_api(
            tmp_path,
            workers=0,
            use_router=True,
            router_config=stub_router_config(tmp_path / "m.yaml", api_base),
            model="stub",
        ) as api,
    ):
        env = service_env(tmp_path / "data", router_config=tmp_path / "m.yaml", model="stub", sweep_interval_s=0.2)
        worker = Process(llm_sentiment("worker", "--concurrency", "2"), env, tmp_path / "worker.log")
        try:
            with api.client() as client:
                job_ids = [
                    client.post("/v1/transcripts", json={"transcript": f"{CALL}\nRep: {n}"}).json()["job_id"]
                    for n in range(4)
                ]
                for job_id in job_ids:
                    wait_for(lambda j=job_id: client.get(f"/v1/jobs/{j}").json()["status"] == "completed", 120, job_id)
                owners = {e["worker"] for j in job_ids for e in api.service.store.events(j) if e["event"] == "claimed"}
                ready = client.get("/readyz").json()
        finally:
            worker.stop()
    assert all(f":{worker.pid}:" in owner for owner in owners), owners
    assert ready["status"] == "ready" and ready["checks"]["model"]["ok"]
    assert "jobs from sqlite" in worker.output()
