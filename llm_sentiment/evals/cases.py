"""One scored call under one configuration: what was predicted, what was gold, what it cost.

``score_analysis`` turns the pipeline's ``Analysis`` into a ``CaseResult`` (pure); the VADER
baseline builds the same shape, so every metric reads one type.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from llm_sentiment.analysis.result import Analysis, SegmentSentiment, Sentiment, Tally
from llm_sentiment.analysis.timeline import Placed, place, tally
from llm_sentiment.ask.answers import Label
from llm_sentiment.ask.answers import Resolution as FoundResolution
from llm_sentiment.ask.asking import Provenance
from llm_sentiment.ask.calibration import Thresholds
from llm_sentiment.evals.dataset import EvalCall, Resolution, RoleLabels, Split, Trend
from llm_sentiment.transcript.model import Transcript

TargetKey = Literal["customer", "agent", "overall"]
ProbeKey = Literal["customer", "agent", "overall", "resolution"]
"""What a probe can decide: a target's label, or the resolution's status."""
TARGETS: tuple[TargetKey, ...] = ("customer", "agent", "overall")
BandKey = Literal[TargetKey, "segment"]
BAND_KEYS: tuple[BandKey, ...] = (*TARGETS, "segment")
"""What has a score band: the three targets, and a segment's own label."""
Source = Literal["text", "audio"]


class QuoteCheck(BaseModel):
    text: str
    segment_id: int
    grounded: bool = Field(description="Verbatim in its segment, spoken by the role it was asked for.")


class TargetResult(BaseModel):
    gold: Label | None = Field(description="None where the dataset has no label for it: predicted, not scored.")
    predicted: Label | None = None
    score: float | None = None
    confidence: float | None = None
    probabilities: dict[Label, float] | None = None
    reasoning: str = ""
    quotes: list[QuoteCheck] = Field(default_factory=list)
    dropped_quotes: int = Field(0, description="Quotes the pipeline dropped as not found in the transcript.")
    gold_trend: Trend | None = None
    predicted_trend: Trend | None = None


class QuestionRecord(BaseModel):
    question_id: str
    model_used: str
    asks: int
    cache_hit: bool
    latency_s: float
    prompt_tokens: int
    completion_tokens: int
    valid: bool = True


class CaseError(BaseModel):
    code: str
    message: str


class CaseResult(BaseModel):
    config: str
    call_id: str
    split: Split
    tags: list[str]
    language: str
    source: Source = "text"
    targets: dict[TargetKey, TargetResult]
    gold_resolution: Resolution | None
    predicted_resolution: Resolution | None = Field(None, description="The status as scored (``unclear`` as partial).")
    found_resolution: FoundResolution | None = Field(None, description="The status as the analysis found it.")
    resolution_probabilities: dict[str, float] | None = Field(
        None, description="The resolution probe's distribution, where the probe chose the status."
    )
    gold_segments: list[Label] | None = None
    predicted_segments: list[Label] | None = None
    segment_scores: list[float] | None = Field(None, description="Each turn's score (its sentences' weighted mean).")
    questions: list[QuestionRecord] = Field(default_factory=list)
    wall_s: float = 0.0
    error: CaseError | None = None

    def disagreements(self) -> int:
        return sum(1 for t in self.targets.values() if t.gold is not None and t.predicted != t.gold)


def _role_target(labels: RoleLabels | None) -> TargetResult:
    if labels is None:
        return TargetResult(gold=None)
    return TargetResult(gold=labels.sentiment, gold_trend=labels.trend)


def gold_targets(call: EvalCall) -> dict[TargetKey, TargetResult]:
    labels = call.labels
    return {
        "customer": _role_target(labels.customer),
        "agent": _role_target(labels.agent),
        "overall": TargetResult(gold=labels.overall),
    }


def empty_case(call: EvalCall, config: str, source: Source = "text") -> CaseResult:
    """The gold side only; predictions are filled in by a scorer, or left empty on error."""
    return CaseResult(
        config=config,
        call_id=call.id,
        split=call.split,
        tags=list(call.tags),
        language=call.language,
        source=source,
        targets=gold_targets(call),
        gold_resolution=call.labels.resolution,
        gold_segments=list(call.labels.segments) if call.labels.segments is not None else None,
    )


def _check_quotes(sentiment: Sentiment, transcript: Transcript, role: str | None) -> list[QuoteCheck]:
    """Re-check every returned quote against the transcript, independently of the pipeline."""
    by_id = {s.id: s for s in transcript.segments}
    checks = []
    for quote in sentiment.quotes:
        segment = by_id.get(quote.segment_id)
        grounded = (
            segment is not None
            and bool(quote.text.strip())
            and quote.text in segment.text
            and (role is None or segment.role == role)
        )
        checks.append(QuoteCheck(text=quote.text, segment_id=quote.segment_id, grounded=grounded))
    return checks


_RESOLUTIONS: dict[FoundResolution, Resolution] = {
    "resolved": "resolved",
    "partial": "partial",
    "unresolved": "unresolved",
    "unclear": "partial",
}
"""The datasets label no ``unclear``: it is scored as their middle class, ``partial``, the nearest (STC-3's
middle rating also covers an outcome its annotators could not call)."""


def turn_tallies(scored: list[SegmentSentiment], transcript: Transcript, thresholds: Thresholds) -> list[Tally] | None:
    """One label and score per transcript segment (a split turn's sentences tallied back, weighted by time);
    None when there are no per-segment scores."""
    if not scored:
        return None
    placed, _ = place(scored)
    by_segment: dict[int, list[Placed]] = {}
    for p in placed:
        by_segment.setdefault(p.segment.segment_id, []).append(p)
    tallies: list[Tally] = []
    for segment in transcript.segments:
        merged = tally(((p.segment, p.weight) for p in by_segment.get(segment.id, [])), thresholds)
        if merged is None:
            return None
        tallies.append(merged)
    return tallies


def _with_segments(case: CaseResult, tallies: list[Tally] | None) -> None:
    case.predicted_segments = [t.label for t in tallies] if tallies is not None else None
    case.segment_scores = [t.score for t in tallies] if tallies is not None else None


def score_analysis(
    call: EvalCall,
    config: str,
    analysis: Analysis,
    wall_s: float,
    source: Source = "text",
    thresholds: Thresholds | None = None,
) -> CaseResult:
    """Predictions, quote checks and per-question cost from one analysis of ``call``."""
    thresholds = thresholds or Thresholds()
    case = empty_case(call, config, source)
    dropped: dict[str, int] = {}
    for warning in analysis.warnings:
        if warning.code == "quote.ungrounded" and warning.question_id:
            target = warning.question_id.removesuffix("_evidence")
            dropped[target] = dropped.get(target, 0) + 1
    sentiments: dict[TargetKey, tuple[Sentiment, str | None]] = {
        "customer": (analysis.roles.customer, "customer"),
        "agent": (analysis.roles.agent, "agent"),
        "overall": (analysis.overall, None),
    }
    for key, (sentiment, role) in sentiments.items():
        gold = case.targets[key]
        case.targets[key] = gold.model_copy(
            update={
                "predicted": sentiment.label,
                "score": sentiment.score,
                "confidence": sentiment.confidence,
                "probabilities": sentiment.probabilities,
                "reasoning": sentiment.reasoning,
                "quotes": _check_quotes(sentiment, analysis.transcript, role),
                "dropped_quotes": dropped.get(key, 0),
            }
        )
    if analysis.timeline is not None:
        for key in ("customer", "agent"):
            trend = getattr(analysis.timeline, key).trend
            if trend is not None:
                case.targets[key] = case.targets[key].model_copy(update={"predicted_trend": trend.direction})
    if analysis.resolution is not None:
        case.predicted_resolution = _RESOLUTIONS[analysis.resolution.status]
        case.found_resolution = analysis.resolution.status
        case.resolution_probabilities = analysis.resolution.probabilities
    _with_segments(case, turn_tallies(analysis.segments, analysis.transcript, thresholds))
    case.questions = _records(analysis.provenance)
    case.wall_s = round(wall_s, 3)
    return case


def score_segments(
    call: EvalCall,
    config: str,
    transcript: Transcript,
    scored: tuple[list[SegmentSentiment], list[Provenance]],
    wall_s: float,
    thresholds: Thresholds,
    source: Source = "text",
) -> CaseResult:
    """A call whose gold is per-segment only, scored from the segment questions alone (no role questions)."""
    segments, provenance = scored
    case = empty_case(call, config, source)
    _with_segments(case, turn_tallies(segments, transcript, thresholds))
    case.questions = _records(provenance)
    case.wall_s = round(wall_s, 3)
    return case


def _records(provenance: list[Provenance]) -> list[QuestionRecord]:
    return [
        QuestionRecord(
            question_id=p.question_id,
            model_used=p.model_used,
            asks=p.asks,
            cache_hit=p.cache_hit,
            latency_s=p.latency_s,
            prompt_tokens=p.prompt_tokens,
            completion_tokens=p.completion_tokens,
        )
        for p in provenance
    ]
