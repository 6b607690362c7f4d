"""The job store's leases: a job is claimed by one worker at a time, taken over when its worker dies,
completed exactly once; upkeep abandons, re-dispatches and expires jobs; webhooks wait in an outbox."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from llm_sentiment._util.jsoncache import JsonCache
from llm_sentiment.errors import IdempotencyConflictError, InputTooLargeError
from llm_sentiment.service.blobs import BlobStore
from llm_sentiment.service.store import JobOptions, JobStore, NewJob
from llm_sentiment.service.store.schema import metadata
from llm_sentiment.service.worker import Maintenance
from llm_sentiment.settings import Settings
from tests.integration.servers import postgres_server


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JobStore]:
    """Every store test runs on both databases the service supports."""
    if request.param == "sqlite":
        opened = JobStore.open(f"sqlite:///{tmp_path / 'db' / 'jobs.db'}")
    else:
        opened = JobStore.open(request.getfixturevalue("postgres"))
        with opened.engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())
    yield opened
    opened.close()


def new_job(
    sha: str = "a" * 64,
    key: str | None = None,
    request_hash: str = "h1",
    webhook: str | None = None,
    tenant: str = "t1",
) -> NewJob:
    return NewJob(
        tenant_id=tenant,
        kind="transcript",
        pipeline="full-analysis",
        input_sha256=sha,
        input_bytes=10,
        options=JobOptions(),
        idempotency_key=key,
        request_hash=request_hash,
        webhook_url=webhook,
    )


def test_a_job_is_claimed_once_and_completed_once(store: JobStore) -> None:
    job, created = store.create(new_job())
    assert created and job.status == "queued"
    first = store.claim("w1", lease_s=30, max_attempts=3)
    assert first is not None and first.job.id == job.id and first.job.attempts == 1
    assert store.claim("w2", lease_s=30, max_attempts=3) is None  # leased
    assert store.finish(job.id, first.token, worker="w1", retention_s=60, analysis_json="{}")
    assert not store.finish(job.id, first.token, worker="w1", retention_s=60, analysis_json="{}")
    done = store.get(job.id)
    assert done is not None and done.status == "completed" and done.has_analysis and done.lease_token is None


def test_an_expired_lease_is_taken_over_and_the_old_worker_cannot_write(store: JobStore) -> None:
    job, _ = store.create(new_job())
    dead = store.claim("w1", lease_s=5, max_attempts=3, now=1000.0)
    assert dead is not None
    assert store.claim("w2", lease_s=5, max_attempts=3, now=1004.0) is None
    alive = store.claim("w2", lease_s=5, max_attempts=3, now=1006.0)
    assert alive is not None and alive.job.attempts == 2
    assert not store.renew(job.id, dead.token, 5)
    assert not store.save_transcript(job.id, dead.token, "{}")
    assert not store.finish(job.id, dead.token, worker="w1", retention_s=60, analysis_json="{}")
    assert store.finish(job.id, alive.token, worker="w2", retention_s=60, analysis_json="{}")
    events = [(e["event"], e["worker"]) for e in store.events(job.id)]
    assert events == [("accepted", None), ("claimed", "w1"), ("claimed", "w2"), ("completed", "w2")]


def test_concurrent_claims_never_share_a_job(store: JobStore) -> None:
    for n in range(20):
        store.create(new_job(sha=f"{n:064x}"))
    claimed: list[str] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        while (got := store.claim(name, lease_s=60, max_attempts=3)) is not None:
            with lock:
                claimed.append(got.job.id)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(claimed) == 20 and len(set(claimed)) == 20


def test_idempotency_key_replays_or_conflicts(store: JobStore) -> None:
    job, created = store.create(new_job(key="k"))
    again, created_again = store.create(new_job(key="k"))
    assert created and not created_again and again.id == job.id
    with pytest.raises(IdempotencyConflictError):
        store.create(new_job(key="k", request_hash="other"))


def test_maintenance_abandons_redispatches_and_expires(tmp_path: Path, store: JobStore) -> None:
    settings = Settings(data_dir=tmp_path, job_max_attempts=2, retention_hours=1, sweep_interval_s=1)
    blobs = BlobStore(tmp_path / "inputs")
    sha, _ = blobs.put(b"Agent: hi\nCustomer: hello", limit=1000)
    sent: list[str] = []
    maintenance = Maintenance(store, blobs, settings, redispatch=sent.append)

    lost, _ = store.create(new_job(sha="b" * 64), now=1000.0)
    for attempt in range(2):
        assert store.claim("w", lease_s=5, max_attempts=2, now=1000.0 + 10 * attempt) is not None
    waiting, _ = store.create(new_job(sha="c" * 64), now=1000.0)
    finished, _ = store.create(new_job(sha=sha), now=1000.0)
    claimed = store.claim("w", lease_s=5, max_attempts=2, job_id=finished.id, now=1000.0)
    assert claimed is not None
    assert store.finish(finished.id, claimed.token, worker="w", retention_s=3600, analysis_json="{}")

    swept = maintenance.sweep(now=1100.0)
    assert swept["abandoned"] == [lost.id]
    abandoned = store.get(lost.id)
    assert abandoned is not None and abandoned.status == "error" and abandoned.error_code == "job.abandoned"
    assert swept["redispatched"] == [waiting.id] == sent
    assert maintenance.sweep(now=1101.0)["redispatched"] == []  # not re-sent at once

    uploaded_long_ago = time.time() - 3 * 3600
    os.utime(blobs.path(sha), (uploaded_long_ago, uploaded_long_ago))
    assert maintenance.sweep(now=time.time() + 1800)["expired"] == [lost.id]  # the finished one is kept an hour
    later = maintenance.sweep(now=time.time() + 2 * 3600)
    assert finished.id in later["expired"] and store.get(finished.id) is None
    assert not blobs.path(sha).exists()


def test_an_input_left_by_a_short_retention_goes_once_past_the_grace(tmp_path: Path, store: JobStore) -> None:
    """A retention shorter than the blob grace: the sweep that expires the job finds its input too young."""
    settings = Settings(data_dir=tmp_path, retention_hours=0.01)  # 36 s
    blobs = BlobStore(tmp_path / "inputs")
    cache = JsonCache(tmp_path / "answers")
    maintenance = Maintenance(store, blobs, settings, caches=[cache])
    orphan, used, uploaded = (blobs.put(f"Agent: hi\nCustomer: call {n}".encode(), limit=1000)[0] for n in range(3))
    job, _ = store.create(new_job(sha=orphan))
    store.create(new_job(sha=used))
    store.add_upload("t1", uploaded, 10, ttl_s=3600)
    claimed = store.claim("w", lease_s=30, max_attempts=3, job_id=job.id)
    assert claimed is not None
    assert store.finish(job.id, claimed.token, worker="w", retention_s=36, analysis_json="{}")

    assert maintenance.sweep(now=time.time() + 40)["expired"] == [job.id]
    assert blobs.path(orphan).exists()  # too young: an upload of the same bytes may be under way
    aged = time.time() - 3600
    for sha in (orphan, used, uploaded):
        os.utime(blobs.path(sha), (aged, aged))
    maintenance.sweep(now=time.time() + 400)  # the next look for orphans, the upload still live
    assert not blobs.path(orphan).exists()
    assert blobs.path(used).exists() and blobs.path(uploaded).exists()
    # An answer stored for a job deleted meanwhile (or on another node) goes at the next look.
    cache.set_json("answer:1", {"content": "late"}, tag=orphan)
    cache.set_json("answer:2", {"content": "kept"}, tag=used)
    maintenance.sweep(now=time.time() + 800)
    assert cache.tags() == {used}
    cache.close()


def test_webhook_waits_in_the_outbox_with_the_result(store: JobStore) -> None:
    job, _ = store.create(new_job(webhook="https://hooks.example.com/x"))
    claimed = store.claim("w", lease_s=30, max_attempts=3)
    assert claimed is not None
    assert store.finish(job.id, claimed.token, worker="w", retention_s=60, analysis_json="{}", webhook_body='{"a":1}')
    delivery = store.claim_webhook(lease_s=30)
    assert delivery is not None and delivery.url == "https://hooks.example.com/x" and delivery.body == '{"a":1}'
    assert store.claim_webhook(lease_s=30) is None  # leased to the sender that took it
    store.webhook_result(delivery.id, delivered=False, error="HTTP 503", next_at=0.0)
    retry = store.claim_webhook(lease_s=30)
    assert retry is not None and retry.attempts == 1


def test_a_tenant_has_one_webhook_in_flight_at_a_time(store: JobStore) -> None:
    """One tenant's hanging receiver holds one delivery; the claim passes over its others to other tenants."""
    for tenant, n in (("slow", 3), ("fast", 1)):
        for i in range(n):
            job, _ = store.create(new_job(webhook=f"https://{tenant}.example.com/{i}", tenant=tenant))
            claimed = store.claim("w", lease_s=30, max_attempts=3, job_id=job.id)
            assert claimed is not None
            assert store.finish(job.id, claimed.token, worker="w", retention_s=60, webhook_body="{}")
    first = store.claim_webhook(lease_s=30)
    second = store.claim_webhook(lease_s=30)
    assert first is not None and first.tenant_id == "slow"
    assert second is not None and second.tenant_id == "fast"
    assert store.claim_webhook(lease_s=30) is None  # "slow" has one in flight already
    store.webhook_result(first.id, delivered=False, error="timed out", next_at=0.0)
    again = store.claim_webhook(lease_s=30)
    assert again is not None and again.tenant_id == "slow"
    assert store.claim_webhook(lease_s=30) is None
    assert store.claim_webhook(lease_s=30, now=time.time() + 31) is not None  # a dead sender's lease expires


def test_blobs_are_content_addressed_and_refused_whole(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    first = blobs.put(b"same bytes", limit=100)
    assert blobs.put(b"same bytes", limit=100) == first
    with pytest.raises(InputTooLargeError):
        blobs.put(b"x" * 101, limit=100)
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == [first[0]]
