"""Tenants and their API keys, as rows: ``service.auth`` makes the secrets and checks them."""

from __future__ import annotations

import secrets
import time
from typing import Any

from pydantic import BaseModel
from sqlalchemy import insert, select, update

from .engine import Database
from .schema import api_keys, tenants


class KeyInfo(BaseModel):
    id: str
    tenant_id: str
    name: str
    scopes: list[str]
    created_at: float
    revoked_at: float | None


class StoredKey(KeyInfo):
    """A key with the salted hash its secret is checked against (the secret itself is never stored)."""

    salt: str
    secret_hash: str


class Keys(Database):
    def add_key(self, info: KeyInfo, *, salt: str, secret_hash: str) -> str:
        """Store the key, and its tenant if new; returns the tenant's webhook signing secret."""
        with self._write() as conn:
            webhook_secret = conn.execute(
                select(tenants.c.webhook_secret).where(tenants.c.id == info.tenant_id)
            ).scalar()
            if webhook_secret is None:
                webhook_secret = "whsec_" + secrets.token_urlsafe(32)
                conn.execute(
                    insert(tenants).values(id=info.tenant_id, webhook_secret=webhook_secret, created_at=info.created_at)
                )
            conn.execute(
                insert(api_keys).values(
                    id=info.id,
                    tenant_id=info.tenant_id,
                    name=info.name,
                    salt=salt,
                    secret_hash=secret_hash,
                    scopes=",".join(info.scopes),
                    created_at=info.created_at,
                )
            )
        return str(webhook_secret)

    def list_keys(self) -> list[KeyInfo]:
        with self._read() as conn:
            rows = conn.execute(select(api_keys).order_by(api_keys.c.created_at)).all()
        return [KeyInfo.model_validate(_fields(r)) for r in rows]

    def revoke_key(self, key_id: str) -> bool:
        """False when there is no such key, or it was revoked already."""
        with self._write() as conn:
            result = conn.execute(
                update(api_keys)
                .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=time.time())
            )
        return result.rowcount == 1

    def stored_key(self, key_id: str) -> StoredKey | None:
        with self._read() as conn:
            row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).first()
        return StoredKey.model_validate(_fields(row)) if row else None

    def tenant_secret(self, tenant_id: str) -> str | None:
        with self._read() as conn:
            value = conn.execute(select(tenants.c.webhook_secret).where(tenants.c.id == tenant_id)).scalar()
        return str(value) if value is not None else None


def _fields(row: Any) -> dict[str, Any]:
    return {**row._mapping, "scopes": row.scopes.split(",")}
