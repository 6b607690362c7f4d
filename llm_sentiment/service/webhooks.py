"""Signed webhooks: HMAC-SHA256 over ``<timestamp>.<body>``, retried with backoff, never to private hosts.

The header ``X-LLM-Sentiment-Signature: t=<unix seconds>,v1=<hex>`` lets a receiver check both who
sent the body and when (reject old timestamps to stop replays); ``verify`` is the receiver's side.
A webhook URL must resolve to public addresses only (no loopback, private, link-local, multicast or
reserved ranges) unless ``LLM_SENTIMENT_WEBHOOK_ALLOW_PRIVATE`` is set; the check is repeated at
delivery and the request goes to the address that was checked, so DNS cannot be switched between.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import socket
import threading
import time
from urllib.parse import urlsplit

import httpx

from llm_sentiment.errors import InvalidParameterError
from llm_sentiment.service.store import JobStore, WebhookDelivery

SIGNATURE_HEADER = "X-LLM-Sentiment-Signature"
_MAX_BACKOFF_S = 3600.0
_FIELD = "body.webhook_url"

log = logging.getLogger(__name__)


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    ts = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={ts},v1={mac}"


def verify(secret: str, header: str, body: bytes, tolerance_s: float = 300.0, now: float | None = None) -> bool:
    """True when ``header`` signs ``body`` with ``secret`` and its timestamp is recent."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        ts = int(fields["t"])
    except (ValueError, KeyError):
        return False
    if abs((now or time.time()) - ts) > tolerance_s:
        return False
    expected = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields.get("v1", ""))


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _addresses(host: str, port: int) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise InvalidParameterError(_FIELD, f"host {host!r} does not resolve ({exc})") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def resolve(url: str, allow_private: bool) -> tuple[str, str, int, list[str]]:
    """(scheme, host, port, addresses) of an allowed webhook URL; InvalidParameterError otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidParameterError(_FIELD, "must be an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise InvalidParameterError(_FIELD, "must not carry credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise InvalidParameterError(_FIELD, "has an invalid port") from None
    addresses = _addresses(parts.hostname, port)
    if not allow_private:
        blocked = [a for a in addresses if not _public(a)]
        if blocked:
            raise InvalidParameterError(
                _FIELD,
                f"{parts.hostname} resolves to a non-public address ({blocked[0]})",
                hint="Webhooks go to public addresses only; set LLM_SENTIMENT_WEBHOOK_ALLOW_PRIVATE=true to allow it.",
            )
    return parts.scheme, parts.hostname, port, addresses


def check_url(url: str, allow_private: bool) -> None:
    resolve(url, allow_private)


def post(url: str, body: bytes, secret: str, *, allow_private: bool, timeout_s: float) -> httpx.Response:
    """POST to the checked address itself (Host header and TLS name kept), never following redirects."""
    scheme, host, port, addresses = resolve(url, allow_private)
    parts = urlsplit(url)
    address = addresses[0]
    netloc = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
    target = parts._replace(netloc=netloc).geturl()
    headers = {
        "content-type": "application/json",
        "host": parts.netloc.rsplit("@", 1)[-1],
        "user-agent": "llm-sentiment-webhook",
        SIGNATURE_HEADER: sign(secret, body),
    }
    extensions = {"sni_hostname": host} if scheme == "https" else {}
    with httpx.Client(timeout=timeout_s, follow_redirects=False, trust_env=False) as client:
        return client.post(target, content=body, headers=headers, extensions=extensions)


def backoff_s(attempt: int, base_s: float) -> float:
    """Delay before retry number ``attempt`` (1-based): base, 2*base, 4*base, … at most an hour."""
    return float(min(_MAX_BACKOFF_S, base_s * (2 ** (attempt - 1))))


class WebhookSender:
    """Delivers queued webhooks from the database, so a restart loses none.

    Up to ``concurrency`` deliveries run at once, each on a thread of its own, and the store hands
    out at most one per tenant: a tenant whose receiver never answers holds one sender for
    ``timeout_s`` at a time while the others keep delivering.
    """

    def __init__(
        self,
        store: JobStore,
        *,
        allow_private: bool,
        timeout_s: float,
        max_attempts: int,
        backoff_base_s: float,
        concurrency: int = 1,
    ) -> None:
        self.store = store
        self.allow_private = allow_private
        self.timeout_s = timeout_s
        self.max_attempts = max_attempts
        self.backoff_base_s = backoff_base_s
        self._slots = threading.Semaphore(concurrency)
        self._freed = threading.Event()

    def deliver(self, delivery: WebhookDelivery) -> None:
        """One attempt; records the success, the time of the next attempt, or the final failure."""
        secret = self.store.tenant_secret(delivery.tenant_id) or ""
        error: str | None = None
        try:
            response = post(
                delivery.url,
                delivery.body.encode(),
                secret,
                allow_private=self.allow_private,
                timeout_s=self.timeout_s,
            )
            if not 200 <= response.status_code < 300:
                error = f"HTTP {response.status_code}"
        except InvalidParameterError as exc:
            error = exc.message
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        attempt = delivery.attempts + 1
        if error is None:
            self.store.webhook_result(delivery.id, delivered=True, error=None, next_at=None)
            return
        log.warning("webhook for %s attempt %d failed: %s", delivery.job_id, attempt, error)
        retry_at = time.time() + backoff_s(attempt, self.backoff_base_s) if attempt < self.max_attempts else None
        self.store.webhook_result(delivery.id, delivered=False, error=error, next_at=retry_at)

    def _start_due(self) -> None:
        """Start a delivery for each free slot while one is due."""
        while self._slots.acquire(blocking=False):
            try:
                delivery = self.store.claim_webhook(lease_s=self.timeout_s * 3)
            except BaseException:
                self._slots.release()
                raise
            if delivery is None:
                self._slots.release()
                return
            name = f"webhook-{delivery.id}"
            threading.Thread(target=self._deliver_and_free, args=(delivery,), name=name, daemon=True).start()

    def _deliver_and_free(self, delivery: WebhookDelivery) -> None:
        try:
            self.deliver(delivery)
        except Exception:  # the lease expires and another attempt follows
            log.exception("webhook delivery %s failed", delivery.id)
        finally:
            self._slots.release()
            self._freed.set()

    def run(self, stop: threading.Event, interval_s: float) -> None:
        """Poll every ``interval_s``, and at once when a delivery ends (its tenant may have more waiting)."""
        while not stop.is_set():
            self._freed.clear()
            try:
                self._start_due()
            except Exception:
                log.exception("webhook delivery loop failed; retrying")
            self._freed.wait(interval_s)
