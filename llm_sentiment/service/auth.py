"""API keys, tenants, scopes and the per-key rate limit.

A key reads ``lsk_<id>_<secret>``. Only a salted HMAC-SHA256 of the secret is stored: the secret
is 32 random bytes, so a slow hash would add latency to every request without adding safety.
Every job belongs to the tenant of the key that created it. The vendors' authorization headers
are all accepted: ``Authorization: KEY`` (AssemblyAI), ``Token KEY`` (Deepgram), ``Bearer KEY``.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
import threading
import time
from typing import Literal, get_args

from pydantic import BaseModel

from llm_sentiment.errors import ForbiddenError, InvalidParameterError, RateLimitedError, UnauthorizedError
from llm_sentiment.service.store import KeyInfo, Keys

Scope = Literal["ingest", "insights:read", "admin"]
SCOPES: tuple[str, ...] = get_args(Scope)
_KEY = re.compile(r"^lsk_(?P<id>[0-9a-f]{16})_(?P<secret>[A-Za-z0-9_-]{20,100})$")
_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class Principal(BaseModel):
    """Who is calling: the key and its tenant and scopes."""

    key_id: str
    tenant_id: str
    name: str
    scopes: frozenset[str]

    def require(self, scope: Scope) -> None:
        if scope not in self.scopes and "admin" not in self.scopes:
            raise ForbiddenError(
                f"this API key lacks the {scope!r} permission",
                hint=f"Create a key with --scopes {scope}.",
                scope=scope,
            )


class CreatedKey(BaseModel):
    key: str
    info: KeyInfo
    webhook_secret: str


def parse_scopes(text: str) -> frozenset[str]:
    scopes = frozenset(s.strip() for s in text.split(",") if s.strip())
    unknown = sorted(scopes - set(SCOPES))
    if unknown or not scopes:
        raise InvalidParameterError(
            "scopes", f"unknown or empty scopes {', '.join(unknown) or '(none)'}", hint=f"Scopes: {', '.join(SCOPES)}."
        )
    return scopes


def _digest(salt: str, secret: str) -> str:
    return hmac.new(bytes.fromhex(salt), secret.encode(), hashlib.sha256).hexdigest()


def key_from_header(value: str | None) -> str:
    """The key in ``Authorization: KEY``, ``Token KEY`` or ``Bearer KEY``."""
    if not value or not value.strip():
        raise UnauthorizedError("missing API key", hint="Send `Authorization: Bearer <key>`.")
    parts = value.strip().split()
    if len(parts) == 2 and parts[0].lower() in ("bearer", "token"):
        return parts[1]
    if len(parts) == 1:
        return parts[0]
    raise UnauthorizedError("malformed Authorization header", hint="Send `Authorization: Bearer <key>`.")


class KeyStore:
    """Keys in the database; a verified key is remembered for ``cache_s`` (so a revocation takes that long)."""

    def __init__(self, store: Keys, cache_s: float = 5.0) -> None:
        self.store = store
        self.cache_s = cache_s
        self._verified: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def create(self, name: str, scopes: frozenset[str], tenant_id: str | None = None) -> CreatedKey:
        """A new key (shown once), in ``tenant_id`` (created if new; default: the key's name)."""
        tenant = tenant_id or name
        if not _TENANT.match(tenant):
            raise InvalidParameterError(
                "tenant", f"{tenant!r} is not a valid tenant id", hint="Letters, digits, '.', '_' and '-', up to 64."
            )
        if not name.strip():
            raise InvalidParameterError("name", "a key needs a name")
        key_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        salt = secrets.token_hex(16)
        now = time.time()
        info = KeyInfo(id=key_id, tenant_id=tenant, name=name, scopes=sorted(scopes), created_at=now, revoked_at=None)
        webhook_secret = self.store.add_key(info, salt=salt, secret_hash=_digest(salt, secret))
        return CreatedKey(key=f"lsk_{key_id}_{secret}", info=info, webhook_secret=webhook_secret)

    def list(self) -> list[KeyInfo]:
        return self.store.list_keys()

    def revoke(self, key_id: str) -> bool:
        revoked = self.store.revoke_key(key_id)
        with self._lock:
            self._verified.clear()
        return revoked

    def authenticate(self, key: str) -> Principal:
        now = time.monotonic()
        with self._lock:
            cached = self._verified.get(key)
        if cached is not None and now - cached[0] < self.cache_s:
            return cached[1]
        principal = self._verify(key)
        with self._lock:
            if len(self._verified) > 10_000:
                self._verified.clear()
            self._verified[key] = (now, principal)
        return principal

    def _verify(self, key: str) -> Principal:
        match = _KEY.match(key)
        if not match:
            raise UnauthorizedError("invalid API key", hint="Keys look like lsk_<id>_<secret>.")
        row = self.store.stored_key(match["id"])
        valid = row is not None and hmac.compare_digest(row.secret_hash, _digest(row.salt, match["secret"]))
        if row is None or not valid or row.revoked_at is not None:
            raise UnauthorizedError("invalid API key")
        return Principal(key_id=row.id, tenant_id=row.tenant_id, name=row.name, scopes=frozenset(row.scopes))


class RateLimiter:
    """A token bucket per key: ``burst`` requests at once, refilled at ``rate`` per second (0: no limit)."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str, now: float | None = None) -> None:
        if self.rate <= 0:
            return
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                wait = (1.0 - tokens) / self.rate
                raise RateLimitedError(
                    f"rate limit exceeded ({self.rate:g} requests/s, burst {self.burst})",
                    retry_after_s=wait,
                    hint=f"Retry after {math.ceil(wait)} s.",
                )
            self._buckets[key] = (tokens - 1.0, now)
