"""Custom questions over a completed job, answered in the fair LLM queue."""

from __future__ import annotations

from fastapi import APIRouter, Request

from llm_sentiment._util.jsoncache import tagged
from llm_sentiment.ask.answers import number_questions
from llm_sentiment.service.auth import Principal
from llm_sentiment.service.http.deps import (
    JobId,
    Reader,
    ServiceDep,
    in_llm_pool,
    require_completed,
    stored_transcript,
    tenant_job,
)
from llm_sentiment.service.http.errors import error_responses
from llm_sentiment.service.http.schemas import JobParameters, QuestionsRequest, QuestionsResponse
from llm_sentiment.service.http.submit import check_parameters
from llm_sentiment.service.wiring import Service

router = APIRouter()


def _answer(service: Service, principal: Principal, job_id: str, body: QuestionsRequest) -> QuestionsResponse:
    job = tenant_job(service, principal, job_id)
    require_completed(job)
    transcript = stored_transcript(service, principal, job)
    params = JobParameters(model=body.model, prompts=body.prompts)
    check_parameters(service, params)
    analyzer = service.analyzer(model=body.model, prompts_version=body.prompts)
    with tagged(job.input_sha256):
        answers, provenance, warnings = analyzer.answer(transcript, number_questions(body.questions))
    return QuestionsResponse(job_id=job.id, answers=answers, provenance=provenance, warnings=warnings)


@router.post(
    "/v1/jobs/{job_id}/questions",
    response_model=QuestionsResponse,
    tags=["results"],
    responses=error_responses(404, 409, 502, 503),
)
async def ask_questions(
    job_id: JobId, body: QuestionsRequest, request: Request, service: ServiceDep, principal: Reader
) -> QuestionsResponse:
    """Custom questions (question, context, answer_format) over a completed job, with grounded quotes."""
    return await in_llm_pool(request, principal, lambda: _answer(service, principal, job_id, body))
