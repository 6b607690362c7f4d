"""The native analysis: the one result every output view is derived from."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from .metrics import Behavioral
from .transcript import Role, RoleMapping, Transcript
from .transcript import Warning as Warning  # re-exported: analyses carry the same notices

Label = Literal["positive", "neutral", "negative"]
LABELS: tuple[Label, ...] = ("positive", "neutral", "negative")
ConfidenceSource = Literal["logprobs", "model"]


class Quote(BaseModel):
    """A verbatim span of one transcript segment."""

    text: str
    segment_id: int
    start: float | None
    end: float | None
    speaker: str
    role: Role | None


class Sentiment(BaseModel):
    label: Label
    score: float = Field(ge=-1, le=1, description="-1 most negative … +1 most positive; inside the label's band.")
    confidence: float = Field(ge=0, le=1)
    confidence_source: ConfidenceSource
    probabilities: dict[Label, float] | None = Field(
        None, description="Label distribution from token logprobs, when the provider returns them."
    )
    reasoning: str
    quotes: list[Quote]


class CustomAnswer(BaseModel):
    id: str
    question: str
    context: str | None = None
    answer_format: str | None = None
    answer: str
    quotes: list[Quote]


class Provenance(BaseModel):
    question_id: str
    template_id: str
    template_version: str
    template_hash: str
    model_requested: str
    model_used: str
    fallbacks_tried: list[str] = Field(default_factory=list, description="Models that failed before model_used.")
    cache_hit: bool
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    asks: int = Field(1, description="1 + re-asks after invalid or ungrounded answers.")


class RoleSentiments(BaseModel):
    agent: Sentiment
    customer: Sentiment


class Analysis(BaseModel):
    transcript: Transcript
    role_mapping: RoleMapping
    roles: RoleSentiments
    overall: Sentiment
    answers: list[CustomAnswer] = Field(default_factory=list)
    behavioral: Behavioral | None = Field(None, description="Talk, silence and interruption metrics; timed calls only.")
    provenance: list[Provenance]
    warnings: list[Warning] = Field(default_factory=list, description="The transcript's warnings, then the analysis'.")
    model: str
    prompts_version: str
