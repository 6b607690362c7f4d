"""Recordings uploaded with AssemblyAI's ``POST /v2/upload``, kept until a ``POST /v2/transcript`` or expiry."""

from __future__ import annotations

import secrets
import time

from sqlalchemy import delete, insert, select

from .engine import Database
from .schema import uploads


class Uploads(Database):
    def add_upload(self, tenant_id: str, sha256: str, size: int, ttl_s: float, now: float | None = None) -> str:
        now = now or time.time()
        upload_id = "upl_" + secrets.token_hex(16)
        with self._write() as conn:
            conn.execute(
                insert(uploads).values(
                    id=upload_id, tenant_id=tenant_id, sha256=sha256, bytes=size, created_at=now, expires_at=now + ttl_s
                )
            )
        return upload_id

    def upload(self, upload_id: str, tenant_id: str, now: float | None = None) -> tuple[str, int] | None:
        """(sha256, bytes) of a tenant's live upload; another tenant's is indistinguishable from none."""
        now = now or time.time()
        with self._read() as conn:
            row = conn.execute(
                select(uploads.c.sha256, uploads.c.bytes).where(
                    uploads.c.id == upload_id, uploads.c.tenant_id == tenant_id, uploads.c.expires_at >= now
                )
            ).first()
        return (str(row.sha256), int(row.bytes)) if row else None

    def expire_uploads(self, now: float | None = None, limit: int = 500) -> list[str]:
        """Forget expired uploads; returns their sha256s (the caller removes blobs no longer in use)."""
        now = now or time.time()
        with self._write() as conn:
            rows = conn.execute(
                select(uploads.c.id, uploads.c.sha256).where(uploads.c.expires_at < now).limit(limit)
            ).all()
            if rows:
                conn.execute(delete(uploads).where(uploads.c.id.in_([r.id for r in rows])))
        return sorted({str(r.sha256) for r in rows})
