"""Analyses built by hand: exact scores, so a test can put them on a band's edge without a model."""

from __future__ import annotations

from llm_sentiment.analysis.result import (
    Analysis,
    ResolutionFinding,
    RoleSentiments,
    SegmentSentiment,
    Sentiment,
)
from llm_sentiment.analysis.timeline import timeline
from llm_sentiment.ask.answers import Resolution
from llm_sentiment.ask.calibration import Thresholds
from llm_sentiment.transcript.model import Role, RoleMapping, Segment, Transcript

NATIVE = Thresholds()
SECONDS = 10.0
"""Every line lasts this long, one after the other."""


def sentiment(score: float, thresholds: Thresholds = NATIVE) -> Sentiment:
    """A judged label as the pipeline makes it: the band its score falls in."""
    return Sentiment(
        label=thresholds.label(score),
        score=score,
        confidence=0.8,
        confidence_source="logprobs",
        reasoning="",
        quotes=[],
    )


def analysis(
    lines: list[tuple[Role, float]],
    *,
    customer: float = 0.0,
    agent: float = 0.0,
    overall: float = 0.0,
    resolution: Resolution | None = None,
) -> Analysis:
    """One timed segment per ``(role, score)`` line, labeled with the native bands, and the role and call
    scores given; the timeline is computed from the lines as the analyzer does."""
    speakers: dict[str, Role] = {"Agent": "agent", "Customer": "customer"}
    names = {role: speaker for speaker, role in speakers.items()}
    segments = [
        Segment(id=i, speaker=names[role], role=role, start=(i - 1) * SECONDS, end=i * SECONDS, text=f"Line {i} here.")
        for i, (role, _) in enumerate(lines, start=1)
    ]
    mapping = RoleMapping(speakers=speakers, source="labels", confidence=0.95)
    scored = [
        SegmentSentiment(
            id=s.id,
            segment_id=s.id,
            text=s.text,
            speaker=s.speaker,
            role=s.role,
            start=s.start,
            end=s.end,
            timing="segment",
            label=NATIVE.label(score),
            score=score,
            confidence=0.8,
            confidence_source="logprobs",
        )
        for s, (_, score) in zip(segments, lines, strict=True)
    ]
    return Analysis(
        transcript=Transcript(segments=segments, duration=len(lines) * SECONDS, role_mapping=mapping),
        role_mapping=mapping,
        roles=RoleSentiments(agent=sentiment(agent), customer=sentiment(customer)),
        overall=sentiment(overall),
        segments=scored,
        timeline=timeline(scored, NATIVE, trend_threshold=0.3, call_duration=len(lines) * SECONDS),
        resolution=ResolutionFinding(status=resolution, reasoning="", quotes=[]) if resolution else None,
        provenance=[],
        model="local/test",
        prompts_version="v1",
    )
