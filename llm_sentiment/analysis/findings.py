"""What was measured on a call, as short facts the recommendations question is shown: trends, turning
points, agent lines that sound negative, interruptions and silence. Pure: no LLM."""

from __future__ import annotations

from .behavior import Behavioral
from .result import SegmentSentiment, Timeline


def findings(timeline: Timeline | None, scored: list[SegmentSentiment], metrics: Behavioral | None) -> list[str]:
    """Measured facts the recommendations question sees: trends, turning points, talk behaviour."""
    facts = []
    if timeline is not None:
        for role in ("customer", "agent"):
            line = getattr(timeline, role)
            if line.tally is not None and line.trend is not None:
                fact = (
                    f"{role} sentiment {line.tally.label} on average ({line.tally.score:+.2f}), {line.trend.direction}"
                )
                point = line.trend.turning_point
                if point is not None:
                    fact += f"; it turned at [{point.segment_id}]"
                facts.append(fact)
    negative = sorted({s.segment_id for s in scored if s.role == "agent" and s.label == "negative"})
    if negative:
        facts.append("agent lines that sound negative: " + ", ".join(f"[{i}]" for i in negative))
    if metrics is not None:
        facts.append(
            f"interruptions: agent {metrics.agent.interruptions}, customer {metrics.customer.interruptions}; "
            f"silence {metrics.silence_ratio:.0%} of the call; agent talks {metrics.agent_talk_ratio:.0%}"
        )
    return facts
