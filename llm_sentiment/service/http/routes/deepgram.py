"""Deepgram's ``POST /v1/read?sentiment=true&language=en`` with ``{"text": ...}``, answered
synchronously (per-segment scoring only, in the fair LLM queue).

Errors on this route come in Deepgram's body shape ``{"err_code", "err_msg", "request_id"}`` (bad
requests are 400, as Deepgram answers).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from llm_sentiment.analysis.long_calls import estimate_tokens
from llm_sentiment.ask.calibration import Thresholds
from llm_sentiment.errors import InvalidParameterError, TokenLimitError
from llm_sentiment.service.http.deps import Reader, ServiceDep, in_llm_pool
from llm_sentiment.service.http.errors import ErrorDetail, ErrorShape, vendor_message
from llm_sentiment.service.wiring import Service
from llm_sentiment.transcript.model import Segment, Transcript
from llm_sentiment.views.vendors import average, deepgram_response

router = APIRouter()


_DEEPGRAM_CODES = {
    "auth.unauthorized": "INVALID_AUTH",
    "auth.forbidden": "INSUFFICIENT_PERMISSIONS",
    "auth.rate_limited": "TOO_MANY_REQUESTS",
    "input.token_limit": "TOKEN_LIMIT_EXCEEDED",
    "queue.full": "TOO_MANY_REQUESTS",
}


def _error(status: int, detail: ErrorDetail) -> tuple[int, dict[str, Any]]:
    if detail.code in _DEEPGRAM_CODES:
        code = _DEEPGRAM_CODES[detail.code]
    elif detail.field and detail.field.startswith("query"):
        code = "INVALID_QUERY_PARAMETER"
    elif status in (400, 422):
        code = "INVALID_BODY"
    else:
        code = detail.code.upper().replace(".", "_")
    return (400 if status == 422 else status), {
        "err_code": code,
        "err_msg": vendor_message(detail),
        "request_id": str(uuid.uuid4()),
    }


ERROR_SHAPE: tuple[str, ErrorShape] = ("/v1/read", _error)
"""Errors on ``/v1/read`` in Deepgram's shape (``create_app`` wires it)."""


class ReadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(None, description="The text to analyse.")
    url: str | None = Field(None, max_length=2000, description="Refused: this server never fetches URLs.")


def text_transcript(text: str) -> Transcript:
    """Each non-empty line a segment; long ones are scored sentence by sentence (``units``)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return Transcript(
        segments=[Segment(id=i + 1, speaker="Text", text=line) for i, line in enumerate(lines)],
        language="en",
        source_format="text",
    )


def read_sentiment(service: Service, text: str) -> dict[str, Any]:
    transcript = text_transcript(text)
    analyzer = service.analyzer()
    scored, provenance, _warnings = analyzer.score_text(transcript)
    thresholds = Thresholds(service.settings.positive_threshold, service.settings.negative_threshold)
    body = deepgram_response(
        scored,
        average(scored, thresholds),
        model=analyzer.model,
        provenance=provenance,
        language="en",
        request_id=str(uuid.uuid4()),
    )
    body["metadata"]["created"] = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return body


_READ_FEATURES = ("summarize", "topics", "intents", "custom_topic", "custom_intent", "callback")


@router.post(
    "/v1/read",
    tags=["deepgram"],
    response_model=None,
    responses={
        200: {
            "description": "Deepgram's text-intelligence response: metadata and results.sentiments",
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
        **{
            status: {
                "description": text,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["err_code", "err_msg", "request_id"],
                            "properties": {
                                "err_code": {"type": "string"},
                                "err_msg": {"type": "string"},
                                "request_id": {"type": "string"},
                            },
                        }
                    }
                },
            }
            for status, text in {
                400: "INVALID_QUERY_PARAMETER, TOKEN_LIMIT_EXCEEDED or a bad body",
                401: "INVALID_AUTH",
                403: "INSUFFICIENT_PERMISSIONS",
                413: "Body too large",
                429: "TOO_MANY_REQUESTS",
                502: "The model answered unusably",
                503: "The model is unavailable",
                504: "The model timed out",
            }.items()
        },
    },
)
async def read(
    body: ReadRequest,
    request: Request,
    service: ServiceDep,
    principal: Reader,
    sentiment: Annotated[bool, Query(description="Must be true: sentiment is the one feature served.")] = False,
    language: Annotated[str | None, Query(max_length=20, description="Only `en`.")] = None,
) -> Response:
    """Deepgram's `/v1/read` sentiment: segments with `sentiment_score` in -1..1 and their `average`."""
    unsupported = [name for name in _READ_FEATURES if name in request.query_params]
    if unsupported:
        raise InvalidParameterError(
            f"query.{unsupported[0]}", f"Request specified unsupported feature: {unsupported[0]}. Only sentiment is."
        )
    if language is None:
        raise InvalidParameterError(
            "query.language", "Failed to deserialize query parameters: missing field `language`"
        )
    if language.lower() not in ("en", "en-us", "en-gb", "en_us", "en_gb"):
        raise InvalidParameterError(
            "query.language", f"Request specified unsupported language: {language}. Only English is supported."
        )
    if not sentiment:
        raise InvalidParameterError("query.sentiment", "sentiment=true is required: it is the one feature served")
    if body.url is not None:
        raise InvalidParameterError("body.url", "url input is not supported: this server never fetches URLs; send text")
    if not body.text or not body.text.strip():
        raise InvalidParameterError("body.text", "text is required and must not be empty")
    text = body.text
    limit = service.settings.read_max_tokens
    if estimate_tokens(text) > limit:
        raise TokenLimitError(
            f"Text input for sentiment currently supports up to {limit} tokens. "
            "Please revise your text input to fit within the defined token limit.",
            hint="Raise LLM_SENTIMENT_READ_MAX_TOKENS, or submit the text as a transcript job.",
        )
    answer = await in_llm_pool(request, principal, lambda: read_sentiment(service, text))
    return Response(json.dumps(answer, ensure_ascii=False), media_type="application/json")
