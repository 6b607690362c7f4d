"""The typed transcript every input format and the transcriber produce."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator

Role = Literal["agent", "customer"]
RoleSource = Literal["argument", "labels", "inference", "channel", "diarization", "input"]
Timing = Literal["segment", "words", "interpolated"]
"""Where a line's times come from: its segment, the turn's word times, or the turn's span shared out."""


class Word(BaseModel):
    text: str
    start: float
    end: float
    probability: float | None = None


class Segment(BaseModel):
    id: int = Field(ge=1, description="1-based, stable within one transcript.")
    speaker: str
    role: Role | None = None
    start: float | None = Field(
        None, ge=0, description="Seconds from the start of the call; None when the input has no timings."
    )
    end: float | None = Field(None, ge=0)
    text: str
    words: list[Word] | None = None
    channel: int | None = None

    @field_validator("speaker", "text")
    @classmethod
    def _no_lone_surrogates(cls, value: str) -> str:
        """JSON can carry a lone surrogate (``\\ud800``) that no UTF-8 encoder downstream accepts: U+FFFD."""
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return value


class Warning(BaseModel):
    """Something the user should know about a result that is still usable."""

    code: str
    message: str
    question_id: str | None = None


class RoleMapping(BaseModel):
    """Which speaker label plays which role, and how we know."""

    speakers: dict[str, Role]
    source: RoleSource
    confidence: float = Field(ge=0, le=1)
    evidence: dict[str, str] = Field(default_factory=dict, description="Per speaker, why it got its role.")


class Transcript(BaseModel):
    segments: list[Segment]
    language: str | None = None
    duration: float | None = Field(None, ge=0)
    source_format: str = "native"
    role_mapping: RoleMapping | None = None
    warnings: list[Warning] = Field(default_factory=list, description="From decoding, transcription and diarization.")

    @property
    def timed(self) -> bool:
        return all(s.start is not None and s.end is not None for s in self.segments)

    def speakers(self) -> list[str]:
        """Distinct speaker labels in order of first appearance."""
        return list(dict.fromkeys(s.speaker for s in self.segments))

    def with_roles(self, mapping: RoleMapping) -> Transcript:
        segments = [s.model_copy(update={"role": mapping.speakers.get(s.speaker)}) for s in self.segments]
        return self.model_copy(update={"segments": segments, "role_mapping": mapping})

    def by_role(self, role: Role) -> list[Segment]:
        return [s for s in self.segments if s.role == role]
