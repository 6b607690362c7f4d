"""Request bodies streamed to the input store as they arrive: the spool, and a multipart/form-data
parser whose file part never sits whole in memory."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from fastapi import Request

from llm_sentiment.errors import InvalidParameterError
from llm_sentiment.service.blobs import BlobWriter


def media_type(request: Request) -> str:
    """The body's media type without parameters (``multipart/form-data; boundary=...`` -> ``multipart/form-data``)."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


class Spool:
    """Streams a request's bytes into the input store, writing from a worker thread in large blocks."""

    def __init__(self, writer: BlobWriter, block: int = 1 << 20) -> None:
        self.writer = writer
        self.block = block
        self._pending = bytearray()

    def add(self, data: bytes | bytearray | memoryview) -> None:
        self._pending.extend(data)

    async def drain(self, *, final: bool = False) -> None:
        if len(self._pending) >= self.block or (final and self._pending):
            data = bytes(self._pending)
            self._pending.clear()
            await asyncio.to_thread(self.writer.write, data)

    async def discard(self) -> None:
        self._pending.clear()
        await asyncio.to_thread(self.writer.discard)


_MAX_FIELD_BYTES = 64 << 10
_MAX_FIELDS = 20


class Multipart:
    """One multipart/form-data body, parsed as it streams in: the ``file`` part goes to the spool,
    the other parts are small text fields."""

    def __init__(self, spool: Spool) -> None:
        self.spool = spool
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self.has_file = False
        self._headers: dict[bytes, bytes] = {}
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._name: str | None = None
        self._value = bytearray()
        self._in_file = False

    def callbacks(self) -> dict[str, Callable[..., None]]:
        return {
            "on_part_begin": self._begin,
            "on_header_field": lambda d, a, b: self._header_field.extend(d[a:b]),
            "on_header_value": lambda d, a, b: self._header_value.extend(d[a:b]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_done,
            "on_part_data": self._data,
            "on_part_end": self._end,
        }

    def _begin(self) -> None:
        self._headers.clear()
        self._name, self._in_file = None, False
        self._value.clear()

    def _header_end(self) -> None:
        self._headers[bytes(self._header_field).strip().lower()] = bytes(self._header_value).strip()
        self._header_field.clear()
        self._header_value.clear()

    def _headers_done(self) -> None:
        from python_multipart.multipart import parse_options_header

        _kind, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if name == "file":
            if self.has_file:
                raise InvalidParameterError("body.file", "send one recording per request")
            self.has_file, self._in_file = True, True
            filename = options.get(b"filename")
            self.filename = filename.decode("utf-8", "replace")[:300] or None if filename else None
        elif len(self.fields) >= _MAX_FIELDS:
            raise InvalidParameterError("body", f"too many form fields (at most {_MAX_FIELDS})")
        self._name = name

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self.spool.add(memoryview(data)[start:end])
            return
        self._value.extend(data[start:end])
        if len(self._value) > _MAX_FIELD_BYTES:
            raise InvalidParameterError(f"body.{self._name}", f"longer than {_MAX_FIELD_BYTES} bytes")

    def _end(self) -> None:
        if not self._in_file and self._name is not None:
            try:
                self.fields[self._name] = self._value.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidParameterError(f"body.{self._name}", "not UTF-8 text") from None


async def receive_multipart(request: Request, spool: Spool) -> Multipart:
    """Parse a multipart body chunk by chunk; the file part never sits whole in memory."""
    from python_multipart.exceptions import FormParserError
    from python_multipart.multipart import MultipartParser, parse_options_header

    _kind, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if not boundary:
        raise InvalidParameterError("header.content-type", "multipart/form-data without a boundary")
    parts = Multipart(spool)
    parser = MultipartParser(boundary, parts.callbacks())  # type: ignore[arg-type]
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            await spool.drain()
        parser.finalize()
    except FormParserError as exc:
        raise InvalidParameterError("body", f"malformed multipart body: {exc}") from None
    await spool.drain(final=True)
    return parts
