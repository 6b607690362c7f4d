"""Behavioral metrics of a timed call, in the units of AWS Call Analytics and the insights API.

Pure functions over segment times: talk time is the union of a role's speech intervals, ratios are
over the call's duration (so agent + customer + silence is 1 when nobody overlaps), and every
ratio is 0, never NaN, for an empty call.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import pairwise

from pydantic import BaseModel, Field

from llm_sentiment.transcript.model import Role, Segment, Transcript

DEFAULT_MIN_OVERLAP_S = 0.5
Interval = tuple[float, float]


class RoleBehavior(BaseModel):
    talk_time_seconds: float = Field(ge=0)
    talk_ratio: float = Field(ge=0, le=1)
    words: int = Field(ge=0)
    words_per_minute: float = Field(ge=0)
    interruptions: int = Field(ge=0, description="Times this role started while the other was still talking.")
    interruption_seconds: float = Field(0.0, ge=0, description="Time this role spent talking over the other.")
    average_response_time_seconds: float | None = Field(
        None, ge=0, description="Mean gap from the other role finishing to this role starting."
    )
    longest_monologue_seconds: float = Field(ge=0)


class Behavioral(BaseModel):
    duration_seconds: float = Field(ge=0)
    talk_time_seconds: float = Field(ge=0)
    non_talk_time_seconds: float = Field(ge=0)
    silence_ratio: float = Field(ge=0, le=1)
    agent_talk_ratio: float = Field(ge=0, le=1)
    customer_talk_ratio: float = Field(ge=0, le=1)
    interruption_count: int = Field(ge=0)
    interruption_seconds: float = Field(0.0, ge=0, description="Total overlap of all interruptions.")
    average_response_time_seconds: float | None = Field(None, ge=0)
    agent: RoleBehavior
    customer: RoleBehavior


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Union of intervals, sorted and non-overlapping."""
    merged: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def total(intervals: Iterable[Interval]) -> float:
    return sum(end - start for start, end in merge(intervals))


def _ratio(part: float, whole: float) -> float:
    return min(1.0, part / whole) if whole > 0 else 0.0


def _timed(segments: Iterable[Segment]) -> list[tuple[Segment, float, float]]:
    rows = [(s, float(s.start), float(s.end)) for s in segments if s.start is not None and s.end is not None]
    return sorted(rows, key=lambda r: (r[1], r[2]))


def interruptions(segments: list[Segment], role: Role, min_overlap: float = DEFAULT_MIN_OVERLAP_S) -> list[Interval]:
    """Where ``role`` started inside another role's turn and talked over it for at least ``min_overlap`` s.

    Each interruption is the overlap: from the interrupter's start to whichever turn ends first.
    """
    rows = _timed(segments)
    found: list[Interval] = []
    for segment, start, end in rows:
        if segment.role != role:
            continue
        for other, o_start, o_end in rows:
            if other.role in (None, role) or not (o_start < start < o_end):
                continue
            if min(end, o_end) - start >= min_overlap:
                found.append((start, min(end, o_end)))
                break
    return found


def response_gaps(segments: list[Segment], role: Role) -> list[float]:
    """For each turn ``role`` takes over from the other role: the silence before it (0 when overlapping)."""
    rows = [r for r in _timed(segments) if r[0].role is not None]
    gaps = []
    for (previous, _, p_end), (current, c_start, _) in pairwise(rows):
        if current.role == role and previous.role != role:
            gaps.append(max(0.0, c_start - p_end))
    return gaps


def longest_monologue(segments: list[Segment], role: Role) -> float:
    """Longest stretch of ``role`` talking with no turn from the other role in between."""
    best = 0.0
    run: Interval | None = None
    for segment, start, end in _timed(segments):
        if segment.role == role:
            run = (run[0], max(run[1], end)) if run else (start, end)
            best = max(best, run[1] - run[0])
        elif segment.role is not None:
            run = None
    return best


def _role_behavior(segments: list[Segment], role: Role, duration: float, overlaps: list[Interval]) -> RoleBehavior:
    own = [(start, end) for s, start, end in _timed(segments) if s.role == role]
    talk = total(own)
    words = sum(len(s.text.split()) for s in segments if s.role == role and s.start is not None)
    gaps = response_gaps(segments, role)
    return RoleBehavior(
        talk_time_seconds=round(talk, 3),
        talk_ratio=round(_ratio(talk, duration), 4),
        words=words,
        words_per_minute=round(words * 60 / talk, 1) if talk >= 1.0 else 0.0,  # undefined under a second
        interruptions=len(overlaps),
        interruption_seconds=round(total(overlaps), 3),
        average_response_time_seconds=round(sum(gaps) / len(gaps), 3) if gaps else None,
        longest_monologue_seconds=round(longest_monologue(segments, role), 3),
    )


def behavioral(transcript: Transcript, min_overlap: float = DEFAULT_MIN_OVERLAP_S) -> Behavioral | None:
    """None when the transcript has no timings (plain text without timestamps)."""
    if not transcript.segments or not transcript.timed:
        return None
    segments = transcript.segments
    rows = _timed(segments)
    duration = round(max(transcript.duration or 0.0, max(end for _, _, end in rows)), 3)
    talk = round(total((start, end) for _, start, end in rows), 3)
    silence = round(max(0.0, duration - talk), 3)
    cut_in = {role: interruptions(segments, role, min_overlap) for role in ("agent", "customer")}
    agent = _role_behavior(segments, "agent", duration, cut_in["agent"])
    customer = _role_behavior(segments, "customer", duration, cut_in["customer"])
    gaps = response_gaps(segments, "agent") + response_gaps(segments, "customer")
    return Behavioral(
        duration_seconds=duration,
        talk_time_seconds=talk,
        non_talk_time_seconds=silence,
        silence_ratio=round(_ratio(silence, duration), 4),
        agent_talk_ratio=agent.talk_ratio,
        customer_talk_ratio=customer.talk_ratio,
        interruption_count=agent.interruptions + customer.interruptions,
        interruption_seconds=round(total(cut_in["agent"] + cut_in["customer"]), 3),
        average_response_time_seconds=round(sum(gaps) / len(gaps), 3) if gaps else None,
        agent=agent,
        customer=customer,
    )
