"""The native analysis: the one result every output view is derived from."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from llm_sentiment.ask.answers import Label, RecommendationType, Resolution
from llm_sentiment.ask.asking import Provenance
from llm_sentiment.transcript.model import Role, RoleMapping, Timing, Transcript
from llm_sentiment.transcript.model import Warning as Warning  # re-exported: analyses carry the same notices

from .behavior import Behavioral

ConfidenceSource = Literal["logprobs", "probe", "model"]
StatusSource = Literal["answer", "probe"]
TimeBasis = Literal["measured", "estimated"]
Direction = Literal["improving", "stable", "declining"]


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


class SegmentSentiment(BaseModel):
    """The sentiment of one transcript segment, or of one sentence of a long turn."""

    id: int = Field(ge=1, description="1-based position among the scored units of the call.")
    segment_id: int = Field(ge=1, description="The transcript segment this text belongs to.")
    sentence: int | None = Field(None, ge=1, description="1-based sentence of a long turn that was split; else None.")
    text: str
    speaker: str
    role: Role | None
    start: float | None = Field(description="Seconds; None when the transcript has no timings.")
    end: float | None
    timing: Timing | None = Field(
        description="Where start/end come from: the segment's own times, its word times, or the segment's "
        "times shared out by text length (a split turn without word times). None when untimed."
    )
    label: Label
    score: float = Field(ge=-1, le=1)
    confidence: float = Field(ge=0, le=1)
    confidence_source: ConfidenceSource
    probabilities: dict[Label, float] | None = None


class Tally(BaseModel):
    """A duration-weighted mean score over some segments, and the label of its band."""

    label: Label
    score: float = Field(ge=-1, le=1)
    segments: int = Field(ge=1)
    weight: float = Field(
        ge=0, description="Seconds of speech averaged (on the estimated timeline when the call is untimed)."
    )


class MinuteSentiment(BaseModel):
    minute: int = Field(ge=0, description="0-based minute of the call.")
    start: float
    end: float
    overall: Tally | None = Field(description="None when nobody spoke in this minute.")
    agent: Tally | None
    customer: Tally | None


class PeriodSentiment(BaseModel):
    """One quarter of the call for one role (AWS Call Analytics' SentimentByPeriod.QuarterlyPeriod)."""

    quarter: int = Field(ge=1, le=4)
    start: float
    end: float
    tally: Tally | None = Field(description="None when the role did not speak in this quarter.")


class TurningPoint(BaseModel):
    """Where the score moved to a new level: the first segment of the new level."""

    unit_id: int
    segment_id: int
    time: float = Field(description="Seconds, on the timeline's time basis.")
    quote: Quote
    before: float = Field(ge=-1, le=1, description="Mean score before the turn.")
    after: float = Field(ge=-1, le=1, description="Mean score from the turn on.")


class Trend(BaseModel):
    direction: Direction
    change: float = Field(description="Mean score of the last third of the speech minus the first third.")
    turning_point: TurningPoint | None = None


class RoleTimeline(BaseModel):
    tally: Tally | None
    quarters: list[PeriodSentiment]
    trend: Trend | None = Field(description="None with fewer than two scored segments.")


class Timeline(BaseModel):
    """Everything computed from the per-segment scores: no LLM involved."""

    time_basis: TimeBasis = Field(
        description="measured: from the transcript's times; estimated: the transcript has none, so times "
        "are placed at a speaking rate of 150 words a minute, in order."
    )
    duration: float = Field(ge=0)
    overall: RoleTimeline
    agent: RoleTimeline
    customer: RoleTimeline
    minutes: list[MinuteSentiment]


class Summary(BaseModel):
    text: str
    quotes: list[Quote]


class ResolutionFinding(BaseModel):
    status: Resolution
    reasoning: str
    quotes: list[Quote]
    status_source: StatusSource = Field(
        "answer",
        description="Who chose the status: the resolution question's answer, or a probe of the model's hidden "
        "state fitted on labeled calls (the answer then gives its evidence; an unsupported reason is left out "
        "and the status stays).",
    )
    probabilities: dict[str, float] | None = Field(
        None, description="The probe's distribution over resolved / partial / unresolved, where it chose."
    )


class Recommendation(BaseModel):
    type: RecommendationType
    text: str
    quotes: list[Quote] = Field(description="The evidence: verbatim transcript lines.")


class Window(BaseModel):
    """A part of a call too long for the model's context, analyzed on its own."""

    index: int = Field(ge=1)
    first_segment: int = Field(description="First segment in the window, including leading context.")
    core_segment: int = Field(description="First segment this window scores; earlier ones are context.")
    last_segment: int
    estimated_tokens: int


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
    segments: list[SegmentSentiment] = Field(default_factory=list, description="Per-segment sentiment, in call order.")
    timeline: Timeline | None = Field(None, description="Aggregates, series and trends of the per-segment scores.")
    summary: Summary | None = None
    resolution: ResolutionFinding | None = None
    recommendations: list[Recommendation] = Field(default_factory=list)
    windows: list[Window] = Field(
        default_factory=list, description="The overlapping windows of a call longer than the model's context."
    )
    timings: dict[str, float] = Field(default_factory=dict, description="Wall seconds per stage of this analysis.")
    provenance: list[Provenance]
    warnings: list[Warning] = Field(default_factory=list, description="The transcript's warnings, then the analysis'.")
    model: str
    prompts_version: str
