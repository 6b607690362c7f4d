"""The call-insights API over a completed job's analysis."""

from __future__ import annotations

import json
from typing import Annotated, cast

from fastapi import APIRouter, Query, Response

from llm_sentiment.analysis.result import Analysis
from llm_sentiment.errors import InvalidParameterError, JobFailedError
from llm_sentiment.service.http.deps import JobId, Reader, ServiceDep, stored_analysis
from llm_sentiment.service.http.errors import ERROR_RESPONSES, error_response
from llm_sentiment.views.vendors import GRANULARITIES, INSIGHT_TYPES, SPEAKERS, Granularity, InsightType, Speaker
from llm_sentiment.views.vendors import insights as insights_view

router = APIRouter()


def _choice(value: str | None, allowed: tuple[str, ...], field: str) -> str | None:
    if value is not None and value not in allowed:
        raise InvalidParameterError(
            field, f"unknown {field.split('.')[-1]} {value!r}", hint=f"One of: {', '.join(allowed)}."
        )
    return value


@router.get(
    "/v1/insights/{job_id}",
    tags=["results"],
    response_model=None,
    responses={
        200: {"description": "The call-insights object (sentiment, behavioral, summary, recommendations)"},
        **{status: ERROR_RESPONSES[status] for status in (400, 401, 403, 404, 429)},
    },
)
def get_insights(
    job_id: JobId,
    service: ServiceDep,
    principal: Reader,
    type: Annotated[str, Query(max_length=20, description="sentiment, behavioral, summary or all.")] = "all",
    speaker: Annotated[str | None, Query(max_length=20, description="Agent or Customer.")] = None,
    granularity: Annotated[str, Query(max_length=20, description="segment, minute or call.")] = "segment",
) -> Response:
    """The call-insights API: 404 while the job is unknown, processing or failed; 403 without full-analysis."""
    insight_type = cast(InsightType, _choice(type, INSIGHT_TYPES, "query.type"))
    who = cast(Speaker | None, _choice(speaker, SPEAKERS, "query.speaker"))
    resolution = cast(Granularity, _choice(granularity, GRANULARITIES, "query.granularity"))
    try:
        job, stored = stored_analysis(service, principal, job_id)
    except JobFailedError as exc:  # the insights API knows no 409: a failed job has no insights
        return error_response(exc, status=404)
    body = insights_view(
        Analysis.model_validate_json(stored),
        insight_type=insight_type,
        speaker=who,
        granularity=resolution,
    )
    return Response(json.dumps({**body, "job_id": job.id}, ensure_ascii=False), media_type="application/json")
