"""Webhook deliveries, queued in the transaction that ends a job (an outbox) and sent one per tenant at a time."""

from __future__ import annotations

import json
import time
from typing import Any

from pydantic import BaseModel
from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.engine import Connection

from .engine import Database
from .schema import jobs, tenants, webhook_deliveries


class WebhookDelivery(BaseModel):
    id: int
    job_id: str
    tenant_id: str
    url: str
    body: str
    attempts: int


def webhook_body(job_id: str, status: str, pipeline: str, error: tuple[str, str] | None) -> str:
    """What a job's webhook says: which job, how it ended; the receiver fetches the results."""
    return json.dumps(
        {
            "event": f"job.{status}",
            "job_id": job_id,
            "status": status,
            "pipeline": pipeline,
            "error": {"code": error[0], "message": error[1]} if error else None,
        },
        separators=(",", ":"),
    )


class Outbox(Database):
    def _queue_webhook(self, conn: Connection, job_id: str, body: str | None, now: float) -> None:
        if body is None:
            return
        row = conn.execute(select(jobs.c.tenant_id, jobs.c.webhook_url).where(jobs.c.id == job_id)).first()
        if row is None or not row.webhook_url:
            return
        conn.execute(
            insert(webhook_deliveries).values(
                job_id=job_id,
                tenant_id=row.tenant_id,
                url=row.webhook_url,
                body=body,
                status="pending",
                attempts=0,
                next_at=now,
                created_at=now,
            )
        )

    def claim_webhook(self, lease_s: float, now: float | None = None) -> WebhookDelivery | None:
        """The oldest due delivery of a tenant with none in flight: a tenant whose receiver hangs holds
        one sender, however many of its webhooks wait."""
        now = now or time.time()
        other = webhook_deliveries.alias("in_flight")
        in_flight = select(other.c.tenant_id).where(other.c.status == "pending", other.c.lease_expires_at >= now)
        due = and_(
            webhook_deliveries.c.status == "pending",
            webhook_deliveries.c.next_at <= now,
            or_(webhook_deliveries.c.lease_expires_at.is_(None), webhook_deliveries.c.lease_expires_at < now),
        )
        with self._write() as conn:
            row = conn.execute(
                select(webhook_deliveries)
                .where(due, webhook_deliveries.c.tenant_id.not_in(in_flight))
                .order_by(webhook_deliveries.c.next_at)
                .limit(1)
            ).first()
            if row is None:
                return None
            # PostgreSQL: claims for one tenant queue on its row, and the update below (a new snapshot)
            # sees what the one before took. SQLite holds the database's write lock already.
            conn.execute(select(tenants.c.id).where(tenants.c.id == row.tenant_id).with_for_update())
            taken = conn.execute(
                update(webhook_deliveries)
                .where(
                    webhook_deliveries.c.id == row.id,
                    due,
                    ~in_flight.where(other.c.tenant_id == row.tenant_id).exists(),
                )
                .values(lease_expires_at=now + lease_s)
            ).rowcount
        if not taken:
            return None
        return WebhookDelivery(
            id=row.id, job_id=row.job_id, tenant_id=row.tenant_id, url=row.url, body=row.body, attempts=row.attempts
        )

    def webhook_result(self, delivery_id: int, *, delivered: bool, error: str | None, next_at: float | None) -> None:
        """``next_at`` None after a failure means no more attempts."""
        values: dict[str, Any] = {
            "attempts": webhook_deliveries.c.attempts + 1,
            "lease_expires_at": None,
            "last_error": error[:500] if error else None,
        }
        if delivered:
            values["status"] = "delivered"
        elif next_at is None:
            values["status"] = "failed"
        else:
            values["next_at"] = next_at
        with self._write() as conn:
            conn.execute(update(webhook_deliveries).where(webhook_deliveries.c.id == delivery_id).values(**values))

    def webhooks(self, job_id: str) -> list[dict[str, Any]]:
        with self._read() as conn:
            rows = conn.execute(select(webhook_deliveries).where(webhook_deliveries.c.job_id == job_id)).all()
        return [dict(r._mapping) for r in rows]
