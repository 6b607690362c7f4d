"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from llm_sentiment import __version__
from llm_sentiment.errors import LLMSentimentError
from llm_sentiment.service.http.deps import Admin, ServiceDep
from llm_sentiment.service.http.errors import ERROR_RESPONSES
from llm_sentiment.service.http.schemas import Check, Health, Readiness

router = APIRouter()


@router.get("/healthz", response_model=Health, tags=["service"])
async def healthz() -> Health:
    """Liveness: answers from the event loop alone, however busy the workers are."""
    return Health(status="ok", version=__version__)


@router.get("/readyz", response_model=Readiness, tags=["service"], responses={503: {"model": Readiness}})
def readyz(service: ServiceDep, response: Response) -> Readiness:
    """Ready when the database and queue answer and the default model is loaded."""
    checks: dict[str, Check] = {}
    try:
        service.store.ping()
        checks["database"] = Check(ok=True)
    except Exception as exc:
        checks["database"] = Check(ok=False, detail=str(exc).splitlines()[0][:200])
    try:
        service.dispatcher.ping()
        checks["queue"] = Check(ok=True, detail="embedded" if service.embedded else "celery")
    except LLMSentimentError as exc:
        checks["queue"] = Check(ok=False, detail=exc.message[:200])
    checks["model"] = Check(
        ok=service.model_state in ("ready", "loaded on first use"), detail=service.model_error or service.model_state
    )
    ready = all(c.ok for c in checks.values())
    if not ready:
        response.status_code = 503
    return Readiness(status="ready" if ready else "not ready", checks=checks)


@router.get(
    "/metrics",
    tags=["service"],
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}, **{s: ERROR_RESPONSES[s] for s in (401, 403, 429)}},
)
def metrics(service: ServiceDep, _admin: Admin) -> Response:
    """Prometheus metrics (an `admin` key): jobs by state over all tenants, stage latencies, LLM tokens
    and cache hits, HTTP latency by route; nothing names a tenant, key or job."""
    return Response(generate_latest(service.telemetry.registry), media_type=CONTENT_TYPE_LATEST)
