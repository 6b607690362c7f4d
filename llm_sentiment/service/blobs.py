"""Job inputs (transcripts, recordings) stored once per content hash under the data directory.

A blob is written to a temporary file while it is hashed and counted, then renamed into place:
a reader never sees a partial file, and a request refused half-way (too large, wrong content)
leaves nothing behind. Identical uploads share one file; it is removed when no job uses it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from llm_sentiment.errors import InputNotFoundError, InputTooLargeError

_CHUNK = 1 << 20


class BlobWriter:
    """Accumulates one upload; ``commit`` moves it into the store, ``discard`` forgets it."""

    def __init__(self, store: BlobStore, limit: int) -> None:
        self._store = store
        self._limit = limit
        self._hash = hashlib.sha256()
        self.size = 0
        fd, name = tempfile.mkstemp(dir=store.tmp_dir, prefix="upload-", suffix=".part")
        self._path = Path(name)
        self._file: BinaryIO = os.fdopen(fd, "wb")

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self._limit:
            self.discard()
            raise InputTooLargeError(
                f"the upload is larger than {self._limit} bytes",
                hint="Raise LLM_SENTIMENT_MAX_UPLOAD_BYTES or send a smaller file.",
                limit=self._limit,
            )
        self._hash.update(chunk)
        self._file.write(chunk)

    def commit(self, check: Callable[[Path], None] | None = None) -> tuple[str, int]:
        """Move the upload into the store; returns (sha256, size).

        ``check`` sees the complete file first (e.g. sniffing a recording): when it raises, the
        upload is discarded and nothing enters the store."""
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        if check is not None:
            try:
                check(self._path)
            except BaseException:
                self.discard()
                raise
        digest = self._hash.hexdigest()
        target = self._store.path(digest)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            self._path.unlink(missing_ok=True)
            os.utime(target)  # a fresh mtime keeps it from a concurrent orphan sweep
        else:
            self._path.chmod(0o600)
            self._path.replace(target)
        return digest, self.size

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self._file.close()
        self._path.unlink(missing_ok=True)


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp_dir = root / "tmp"
        self.tmp_dir.mkdir(parents=True, exist_ok=True, mode=0o700)

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a sha256: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def writer(self, limit: int) -> BlobWriter:
        return BlobWriter(self, limit)

    def put(self, data: bytes, limit: int) -> tuple[str, int]:
        writer = self.writer(limit)
        try:
            writer.write(data)
        except BaseException:
            writer.discard()
            raise
        return writer.commit()

    def put_file(self, source: BinaryIO, limit: int) -> tuple[str, int]:
        writer = self.writer(limit)
        try:
            while chunk := source.read(_CHUNK):
                writer.write(chunk)
        except BaseException:
            writer.discard()
            raise
        return writer.commit()

    def stored(self) -> list[str]:
        """The sha256 of every stored input."""
        return [
            path.name for path in self.root.glob("??/*") if len(path.name) == 64 and path.parent.name == path.name[:2]
        ]

    def read(self, sha256: str) -> bytes:
        try:
            return self.path(sha256).read_bytes()
        except FileNotFoundError:
            raise InputNotFoundError(
                f"the stored input {sha256[:12]}… is gone", hint="Submit the input again."
            ) from None

    def remove(self, sha256: str, older_than_s: float = 0.0) -> bool:
        """Delete a blob (only if untouched for ``older_than_s``: an upload may be reusing it right now)."""
        path = self.path(sha256)
        try:
            if older_than_s and time.time() - path.stat().st_mtime < older_than_s:
                return False
            path.unlink()
        except FileNotFoundError:
            return False
        return True

    def clean_tmp(self, older_than_s: float) -> int:
        """Remove uploads left by a process that died mid-request."""
        removed = 0
        cutoff = time.time() - older_than_s
        for path in self.tmp_dir.glob("upload-*.part"):
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
        return removed
