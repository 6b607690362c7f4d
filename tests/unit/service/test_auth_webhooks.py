"""Keys (salted hashes, vendor header schemes), the token bucket, webhook signatures and the SSRF guard."""

from __future__ import annotations

from pathlib import Path

import pytest

from llm_sentiment.errors import InvalidParameterError, RateLimitedError, UnauthorizedError
from llm_sentiment.service.auth import KeyStore, RateLimiter, key_from_header, parse_scopes
from llm_sentiment.service.store import JobStore
from llm_sentiment.service.store.schema import api_keys
from llm_sentiment.service.webhooks import backoff_s, check_url, sign, verify


@pytest.fixture
def keys(tmp_path: Path) -> KeyStore:
    return KeyStore(JobStore.open(f"sqlite:///{tmp_path / 'jobs.db'}"))


def test_only_a_salted_hash_of_the_key_is_stored(keys: KeyStore) -> None:
    one = keys.create("qa", frozenset({"ingest"}))
    two = keys.create("qa-2", frozenset({"ingest"}), tenant_id="qa")
    with keys.store.engine.connect() as conn:
        rows = conn.execute(api_keys.select()).all()
    secrets = [one.key.split("_", 2)[2], two.key.split("_", 2)[2]]
    assert all(secret not in str(tuple(row)) for row in rows for secret in secrets)
    assert len({row.salt for row in rows}) == 2
    assert keys.authenticate(one.key).tenant_id == keys.authenticate(two.key).tenant_id == "qa"
    assert one.webhook_secret == two.webhook_secret  # one signing secret per tenant
    with pytest.raises(UnauthorizedError):
        keys.authenticate(one.key[:-1] + ("A" if one.key[-1] != "A" else "B"))


@pytest.mark.parametrize(
    ("header", "key"),
    [("lsk_k", "lsk_k"), ("Token lsk_k", "lsk_k"), ("Bearer lsk_k", "lsk_k"), ("bearer  lsk_k ", "lsk_k")],
)
def test_vendor_authorization_schemes(header: str, key: str) -> None:
    assert key_from_header(header) == key


@pytest.mark.parametrize("header", [None, "", "Basic a b"])
def test_missing_or_malformed_authorization(header: str | None) -> None:
    with pytest.raises(UnauthorizedError):
        key_from_header(header)


def test_scopes_are_checked() -> None:
    assert parse_scopes("ingest, insights:read") == {"ingest", "insights:read"}
    with pytest.raises(InvalidParameterError, match="write"):
        parse_scopes("ingest,write")


def test_token_bucket_allows_bursts_then_the_rate() -> None:
    limiter = RateLimiter(rate=2.0, burst=3)
    for _ in range(3):
        limiter.check("k", now=100.0)
    with pytest.raises(RateLimitedError) as info:
        limiter.check("k", now=100.0)
    assert info.value.retry_after_s == pytest.approx(0.5)
    limiter.check("k", now=100.5)
    limiter.check("other", now=100.5)
    RateLimiter(rate=0, burst=1).check("k")  # disabled


def test_signature_covers_timestamp_and_body() -> None:
    header = sign("whsec_x", b'{"job_id":"j"}', timestamp=1_000)
    assert verify("whsec_x", header, b'{"job_id":"j"}', now=1_010)
    assert not verify("whsec_x", header, b'{"job_id":"k"}', now=1_010)
    assert not verify("whsec_y", header, b'{"job_id":"j"}', now=1_010)
    assert not verify("whsec_x", header, b'{"job_id":"j"}', now=5_000)  # replayed later
    assert not verify("whsec_x", "garbage", b"")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
    ],
)
def test_private_webhook_targets_are_refused(url: str) -> None:
    with pytest.raises(InvalidParameterError, match="non-public") as info:
        check_url(url, allow_private=False)
    assert info.value.field == "body.webhook_url"
    check_url(url, allow_private=True)


@pytest.mark.parametrize("url", ["ftp://example.com/x", "http:///nohost", "http://user:pw@8.8.8.8/", "javascript:x"])
def test_malformed_webhook_urls_are_refused(url: str) -> None:
    with pytest.raises(InvalidParameterError):
        check_url(url, allow_private=True)


def test_public_literal_address_is_allowed() -> None:
    check_url("https://8.8.8.8/hook", allow_private=False)


def test_backoff_doubles_up_to_an_hour() -> None:
    assert [backoff_s(n, 2.0) for n in (1, 2, 3)] == [2.0, 4.0, 8.0]
    assert backoff_s(30, 2.0) == 3600.0
