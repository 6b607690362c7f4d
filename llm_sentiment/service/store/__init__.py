"""Job state in a database: SQLite (WAL) in the data directory by default, PostgreSQL by URL.

One ``JobStore`` reads and writes it all; its tables' methods live in small modules (``jobs``,
``uploads``, ``outbox``, ``keys``) over one connection (``engine``) and one schema (``schema``).
"""

from .jobs import Claimed, InputKind, Job, JobOptions, JobStatus, JobStore, NewJob, Pipeline, Stage
from .keys import KeyInfo, Keys, StoredKey
from .outbox import WebhookDelivery, webhook_body

__all__ = [
    "Claimed",
    "InputKind",
    "Job",
    "JobOptions",
    "JobStatus",
    "JobStore",
    "KeyInfo",
    "Keys",
    "NewJob",
    "Pipeline",
    "Stage",
    "StoredKey",
    "WebhookDelivery",
    "webhook_body",
]
