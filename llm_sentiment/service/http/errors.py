"""Errors as HTTP answers: the service's error tree, each class with its status, in one body shape
``{"error": {"code", "message", "hint"?, "field"?, "details"?}}`` (the vendors' routes answer in
their vendor's shape instead, see ``ErrorShapes``), with this server's paths scrubbed from it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from llm_sentiment.errors import LLMSentimentError, QueueFullError, RateLimitedError, UnauthorizedError


class ErrorDetail(BaseModel):
    code: str
    message: str
    hint: str | None = None
    field: str | None = None
    details: dict[str, Any] | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


ErrorShape = Callable[[int, ErrorDetail], tuple[int, dict[str, Any]]]
"""An error in a vendor's shape: (status, body) from our status and detail."""

ErrorShapes = Mapping[str, ErrorShape]
"""Path prefix -> the shape of errors under it (the vendors' routers declare theirs, ``create_app`` wires them)."""


def vendor_message(detail: ErrorDetail) -> str:
    """The message naming the field as the vendors do (``audio_url``, not our ``body.audio_url: `` prefix)."""
    if not detail.field:
        return detail.message
    name = detail.field.split(".")[-1]
    rest = detail.message.removeprefix(f"{detail.field}: ")
    return rest if name in rest else f"{name}: {rest}"


_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/~-])/[^\s'\"`,;:()\[\]{}<>]+")


def scrub_paths(text: str) -> str:
    """Absolute paths of this server's files (those that exist, or lie in a directory that does) cut
    to their last part, so no answer says where the server keeps its files."""

    def cut(match: re.Match[str]) -> str:
        path = Path(match.group(0))
        on_server = any(p.exists() for p in (path, *path.parents[:-1]))
        return f"…/{path.name}" if on_server else match.group(0)

    return _ABSOLUTE_PATH.sub(cut, text)


def _scrubbed(value: Any) -> Any:
    if isinstance(value, str):
        return scrub_paths(value)
    if isinstance(value, dict):
        return {key: _scrubbed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrubbed(item) for item in value]
    return value


def shape_at(shapes: ErrorShapes, path: str) -> ErrorShape | None:
    """The shape of a vendor whose routes the path is under; None: ours."""
    return next((shape for prefix, shape in shapes.items() if path.startswith(prefix)), None)


def detail_response(
    status: int, detail: ErrorDetail, headers: Mapping[str, str] | None = None, shape: ErrorShape | None = None
) -> JSONResponse:
    """Every error answer passes here: this server's paths scrubbed, then our body or the vendor's shape."""
    detail = ErrorDetail.model_validate(_scrubbed(detail.model_dump()))
    if shape is not None:
        status, body = shape(status, detail)
    else:
        body = ErrorBody(error=detail).model_dump(mode="json", exclude_none=True)
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


def error_response(
    error: LLMSentimentError, status: int | None = None, shape: ErrorShape | None = None
) -> JSONResponse:
    """One of our errors at its class's status (or ``status``), with Retry-After or WWW-Authenticate where due."""
    details = {k: v for k, v in error.details.items() if k != "field"}
    headers: dict[str, str] = {}
    if isinstance(error, RateLimitedError | QueueFullError):
        headers["Retry-After"] = str(max(1, math.ceil(error.retry_after_s)))
    if isinstance(error, UnauthorizedError):
        headers["WWW-Authenticate"] = "Bearer"
    detail = ErrorDetail(
        code=error.code,
        message=error.message,
        hint=error.hint,
        field=error.details.get("field"),
        details=details or None,
    )
    return detail_response(status or error.http_status, detail, headers, shape)


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in {
        400: "Bad parameter (the field is named)",
        401: "Missing or invalid API key",
        403: "The key lacks the permission",
        404: "Unknown job (or another tenant's)",
        422: "Invalid request body",
        429: "Rate limited (see Retry-After)",
    }.items()
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    base: dict[int | str, dict[str, Any]] = {s: ERROR_RESPONSES[s] for s in (400, 401, 403, 422, 429)}
    for status in statuses:
        base[status] = ERROR_RESPONSES.get(status, {"model": ErrorBody, "description": "Error"})
    return base


def _field(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc)


def add_exception_handlers(app: FastAPI, shapes: ErrorShapes) -> None:
    """Ours, FastAPI's validation errors and Starlette's 404/405, all in the one body shape (or, under a
    vendor's paths, in the vendor's)."""

    @app.exception_handler(LLMSentimentError)
    async def _service_error(request: Request, exc: LLMSentimentError) -> JSONResponse:
        return error_response(exc, shape=shape_at(shapes, request.url.path))

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": ("body",), "msg": "invalid request"}
        field = _field(tuple(first.get("loc", ("body",))))
        detail = ErrorDetail(
            code="input.parameter",
            message=f"{field}: {first.get('msg', 'invalid')}",
            field=field,
            details={"errors": [{"field": _field(tuple(e.get("loc", ()))), "message": e.get("msg")} for e in errors]},
        )
        return detail_response(422, detail, shape=shape_at(shapes, request.url.path))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "route.not_found", 405: "route.method_not_allowed"}.get(exc.status_code, "request.invalid")
        detail = ErrorDetail(code=code, message=str(exc.detail))
        return detail_response(exc.status_code, detail, exc.headers, shape_at(shapes, request.url.path))
