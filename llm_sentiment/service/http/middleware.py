"""ASGI middleware: the body size limit (checked as the body streams in) and request latency metrics."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from llm_sentiment.errors import InputTooLargeError
from llm_sentiment.service.wiring import Service

from .errors import ErrorShapes, error_response, shape_at


class BodyLimit:
    """Refuses a body over ``limit`` bytes with 413: at once from Content-Length, else as it streams in.

    Once the limit is passed no more of the body is read, and whatever the app then tries to answer
    is replaced by the 413, however the app handled the interrupted read.
    """

    def __init__(
        self,
        app: ASGIApp,
        limit: int,
        recording_limit: int,
        recording_paths: tuple[str, ...],
        error_shapes: ErrorShapes,
    ) -> None:
        self.app = app
        self.limit = limit
        self.recording_limit = recording_limit
        self.recording_paths = recording_paths
        self.error_shapes = error_shapes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        path = str(scope.get("path", ""))
        recording = path in self.recording_paths
        limit = self.recording_limit if recording else self.limit
        shape = shape_at(self.error_shapes, path)
        too_large = InputTooLargeError(
            f"the request body is larger than {limit} bytes",
            hint=f"Raise LLM_SENTIMENT_{'MAX_AUDIO_MB' if recording else 'MAX_UPLOAD_BYTES'} or send a smaller file.",
            limit=limit,
        )
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await error_response(too_large, shape=shape)(scope, receive, send)
            return
        received = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise too_large
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                if not started:
                    started = True
                    await error_response(too_large, shape=shape)(scope, receive, send)
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, limited_receive, guarded_send)


class RequestMetrics:
    """Latency of every request by route template, for /metrics."""

    def __init__(self, app: ASGIApp, service: Service) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            self.service.telemetry.http_seconds.labels(scope["method"], path, str(status)).observe(
                time.perf_counter() - started
            )
