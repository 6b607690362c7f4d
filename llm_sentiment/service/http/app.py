"""The HTTP API (FastAPI): the app factory. Routes are in ``routes/``, one module a resource, the
vendors' endpoints (``assemblyai``, ``deepgram``) among them.

No LLM, parsing, database or file work runs on the event loop: plain ``def`` routes and
dependencies run in the thread pool, LLM calls in a fair, bounded queue of their own, jobs in the
workers. Uploads are streamed to the input store as they arrive, never held whole in memory.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from llm_sentiment import __version__
from llm_sentiment.llm.base import LLMClient
from llm_sentiment.service.fair_queue import FairQueue
from llm_sentiment.service.wiring import Service
from llm_sentiment.settings import Settings
from llm_sentiment.speech.recording import limits_for

from .errors import add_exception_handlers
from .middleware import BodyLimit, RequestMetrics
from .routes import analysis, assemblyai, audio, deepgram, gateway, health, insights, jobs, questions, transcripts
from .schemas import TranscriptSubmission


def create_app(
    settings: Settings | None = None,
    *,
    llm: LLMClient | None = None,
    workers: int = 1,
    preload: bool = True,
) -> FastAPI:
    """The API with its service; ``llm`` replaces the router-built LLM (tests, benchmarks)."""
    settings = settings or Settings()
    service = Service(settings, llm=llm)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service.start(workers, preload=preload)
        app.state.llm_queue = FairQueue(
            settings.api_llm_threads, settings.api_llm_queue, settings.api_llm_queue_per_key
        )
        try:
            yield
        finally:
            app.state.llm_queue.shutdown()
            await asyncio.to_thread(service.stop)

    app = FastAPIOffline(  # /docs and /redoc served from the package: the service runs offline
        title="llm-sentiment",
        version=__version__,
        description="How a call went: customer, agent and call sentiment with reasons and verbatim quotes.",
        lifespan=lifespan,
    )
    app.state.service = service
    for routes in (health, transcripts, audio, jobs, analysis, insights, questions, gateway, assemblyai, deepgram):
        app.include_router(routes.router)
    error_shapes = dict([assemblyai.ERROR_SHAPE, deepgram.ERROR_SHAPE])
    add_exception_handlers(app, error_shapes)
    app.add_middleware(
        BodyLimit,
        limit=settings.max_upload_bytes,
        recording_limit=limits_for(settings.speech_options()).max_bytes,
        recording_paths=("/v1/audio/ingest", *assemblyai.RECORDING_PATHS),
        error_shapes=error_shapes,
    )
    app.add_middleware(RequestMetrics, service=service)
    _publish_models(app)
    return app


def _publish_models(app: FastAPI) -> None:
    """Put models referenced only from hand-written request bodies into the OpenAPI components."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = original()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        extra = TranscriptSubmission.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in extra.pop("$defs", {}).items():
            components.setdefault(name, definition)
        components["TranscriptSubmission"] = extra
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
