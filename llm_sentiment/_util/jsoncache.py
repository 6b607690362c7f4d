"""Results cached on disk as JSON (never pickle): LLM answers, and transcripts of recordings.

Each is keyed by everything that shapes it: an answer by model, messages, schema and generation
parameters; a transcript by the audio's content hash, the Whisper model and the options. What the
service stores for a job is tagged with the job's input (its sha256), so deleting the last job of
an input evicts it too; deleted entries are overwritten on disk (SQLite ``secure_delete``, and the
write-ahead log emptied), not just unlinked from the index.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import diskcache

_TAG: ContextVar[str | None] = ContextVar("cache_tag", default=None)


@contextmanager
def tagged(tag: str) -> Iterator[None]:
    """Answers cached inside are tagged ``tag`` (a job's input sha256), so they can be evicted with it."""
    token = _TAG.set(tag)
    try:
        yield
    finally:
        _TAG.reset(token)


class JsonCache:
    """A private (0700) diskcache directory of JSON values."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        directory.chmod(0o700)
        self.directory = directory
        self._cache = diskcache.Cache(
            str(directory),
            disk=diskcache.JSONDisk,
            disk_compress_level=1,
            tag_index=True,
            sqlite_secure_delete=1,
        )

    def get_json(self, key: str) -> Any:
        return self._cache.get(key)

    def set_json(self, key: str, value: Any, tag: str | None = None) -> None:
        self._cache.set(key, value, tag=tag)

    def delete(self, key: str) -> None:
        self._cache.delete(key)

    def evict(self, tag: str) -> int:
        """Remove every entry tagged ``tag``, leaving nothing of it in the database's files."""
        removed = int(self._cache.evict(tag, retry=True))
        if removed:
            with closing(sqlite3.connect(self.directory / diskcache.core.DBNAME, timeout=30)) as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return removed

    def tags(self) -> set[str]:
        """The tags entries carry: the inputs whose jobs stored something here."""
        rows = self._cache._sql("SELECT DISTINCT tag FROM Cache WHERE tag IS NOT NULL").fetchall()
        return {str(tag) for (tag,) in rows}

    def clear(self) -> int:
        return int(self._cache.clear())

    def __len__(self) -> int:
        return len(self._cache)

    def close(self) -> None:
        self._cache.close()


def current_tag() -> str | None:
    """The tag of the call being worked on here, if any (``tagged``)."""
    return _TAG.get()
