"""Tenants and their API keys: rows only; ``service.auth`` makes and checks the keys."""

from __future__ import annotations

from sqlalchemy import select

from .engine import Database
from .schema import tenants


class Keys(Database):
    def tenant_secret(self, tenant_id: str) -> str | None:
        with self._read() as conn:
            value = conn.execute(select(tenants.c.webhook_secret).where(tenants.c.id == tenant_id)).scalar()
        return str(value) if value is not None else None
