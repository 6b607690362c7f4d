"""The analysis of a completed job, in our shape or another service's (no second LLM pass)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from llm_sentiment.analysis.result import Analysis
from llm_sentiment.errors import InvalidParameterError
from llm_sentiment.service.http.deps import JobId, Reader, ServiceDep, stored_analysis
from llm_sentiment.service.http.errors import error_responses
from llm_sentiment.service.store import Job
from llm_sentiment.views.vendors import VIEWS
from llm_sentiment.views.vendors import assemblyai as assemblyai_view
from llm_sentiment.views.vendors import deepgram as deepgram_view
from llm_sentiment.views.vendors import insights as insights_view

router = APIRouter()


def _source(job: Job) -> str:
    return job.input_name or f"/v1/jobs/{job.id}"


def render_view(job: Job, analysis: Analysis, view: str) -> dict[str, Any]:
    """The stored analysis in another service's shape (``views``: no second LLM pass), under the job's id."""
    if view == "assemblyai":
        return {**assemblyai_view(analysis, source=_source(job)), "id": job.id}
    if view == "deepgram":
        body = deepgram_view(analysis)
        body["metadata"]["request_id"] = job.id
        return body
    return {**insights_view(analysis), "job_id": job.id}


@router.get(
    "/v1/analysis/{job_id}",
    tags=["results"],
    response_model=None,
    responses={
        200: {"description": "The analysis in the requested view", "model": Analysis},
        **error_responses(404, 409),
    },
)
def get_analysis(
    job_id: JobId,
    service: ServiceDep,
    principal: Reader,
    view: Annotated[
        str,
        Query(max_length=40, description="Response shape: native, assemblyai, deepgram or insights."),
    ] = "native",
) -> Response:
    """The analysis of a completed `full-analysis` job, in our shape or a vendor's (no second LLM pass)."""
    if view not in VIEWS:
        raise InvalidParameterError("query.view", f"unknown view {view!r}", hint=f"Views: {', '.join(VIEWS)}.")
    job, stored = stored_analysis(service, principal, job_id)
    if view == "native":
        return Response(stored, media_type="application/json")
    body = render_view(job, Analysis.model_validate_json(stored), view)
    return Response(json.dumps(body, ensure_ascii=False), media_type="application/json")
