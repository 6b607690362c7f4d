"""Our JSON: ``{"segments": [{"speaker", "text", "start"?, "end"?, "role"?, "channel"?}]}``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from llm_sentiment.transcript.model import Role, RoleMapping, Segment, Transcript

from ._shared import finish, invalid


class _NativeSegment(BaseModel):
    speaker: str | int
    text: str
    start: float | None = None
    end: float | None = None
    role: Role | None = None
    channel: int | None = None


class _NativeDoc(BaseModel):
    segments: list[_NativeSegment]
    language: str | None = None
    duration: float | None = None


def parse_native(doc: Any) -> Transcript:
    try:
        parsed = _NativeDoc.model_validate(doc)
    except ValidationError as exc:
        raise invalid("transcript JSON", exc) from None
    segments = [
        Segment(
            id=i + 1,
            speaker=str(s.speaker),
            start=s.start,
            end=s.end,
            text=s.text.strip(),
            role=s.role,
            channel=s.channel,
        )
        for i, s in enumerate(parsed.segments)
    ]
    transcript = finish(segments, "json", language=parsed.language, duration=parsed.duration)
    roles = {s.speaker: s.role for s in transcript.segments if s.role}
    if roles and len(roles) == len(transcript.speakers()):
        transcript = transcript.with_roles(RoleMapping(speakers=roles, source="input", confidence=1.0))
    return transcript
