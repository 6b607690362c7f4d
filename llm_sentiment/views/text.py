"""A readable summary of an analysis, for a terminal."""

from __future__ import annotations

from llm_sentiment.analysis.result import Analysis, Quote, RoleTimeline, Sentiment, Timeline

_MAX_LISTED = 40


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes, secs = divmod(int(seconds), 60)
    return f" {minutes:02d}:{secs:02d}"


def _quote(quote: Quote) -> str:
    return f'    "{quote.text}"  [#{quote.segment_id}{_clock(quote.start)} {quote.speaker}]'


def _sentiment(title: str, sentiment: Sentiment) -> list[str]:
    lines = [
        f"{title:<9}{sentiment.label.upper():<9} score {sentiment.score:+.2f}  "
        f"confidence {sentiment.confidence:.2f} ({sentiment.confidence_source})",
        f"  {sentiment.reasoning}",
    ]
    lines.extend(_quote(q) for q in sentiment.quotes)
    return lines


def _trend(role: str, line: RoleTimeline, timeline: Timeline) -> list[str]:
    if line.tally is None:
        return []
    text = f"  {role:<9}{line.tally.label:<9} {line.tally.score:+.2f} over {line.tally.segments} segments"
    if line.trend is not None:
        text += f", {line.trend.direction}"
        point = line.trend.turning_point
        if point is not None:
            estimated = " est." if timeline.time_basis == "estimated" else ""
            text += f" ({point.before:+.2f} -> {point.after:+.2f} at{_clock(point.time)}{estimated})"
            return [text, _quote(point.quote)]
    return [text]


def _segments(analysis: Analysis) -> list[str]:
    timeline = analysis.timeline
    if timeline is None:
        return []
    lines = ["", f"Segments ({len(analysis.segments)} scored; times {timeline.time_basis}):"]
    lines += _trend("Customer", timeline.customer, timeline) + _trend("Agent", timeline.agent, timeline)
    shown = analysis.segments
    if len(shown) > _MAX_LISTED:
        strongest = sorted(shown, key=lambda s: -abs(s.score))[:_MAX_LISTED]
        shown = sorted(strongest, key=lambda s: s.id)
        lines.append(f"  (the {_MAX_LISTED} strongest of {len(analysis.segments)}; --format json has them all)")
    for s in shown:
        lines.append(
            f"  #{s.segment_id:<4}{_clock(s.start):>6} {s.speaker[:10]:<10} {s.label:<8} {s.score:+.2f}  {s.text[:70]}"
        )
    return lines


def _wrap_up(analysis: Analysis) -> list[str]:
    lines: list[str] = []
    if analysis.summary is not None:  # left empty when no sentence was supported (see the warnings)
        lines += ["", "Summary:", f"  {analysis.summary.text or '(none supported by the transcript)'}"]
    if analysis.resolution is not None:
        reasoning = analysis.resolution.reasoning
        status: str = analysis.resolution.status
        probed = analysis.resolution.probabilities
        if probed and status in probed:  # chosen by the probe: say how sure it was
            status += f" (probe {probed[status]:.2f})"
        lines += [f"Resolution: {status}" + (f" - {reasoning}" if reasoning else "")]
        lines += [_quote(q) for q in analysis.resolution.quotes]
    if analysis.recommendations:
        lines += ["Recommendations:"]
        for r in analysis.recommendations:
            lines += [f"  - [{r.type}] {r.text}", *(_quote(q) for q in r.quotes)]
    return lines


def _behavior(analysis: Analysis) -> list[str]:
    b = analysis.behavioral
    if b is None:
        return []
    response = f"{b.average_response_time_seconds:.1f} s" if b.average_response_time_seconds is not None else "-"
    return [
        f"Talk: agent {b.agent_talk_ratio:.0%}, customer {b.customer_talk_ratio:.0%}, silence {b.silence_ratio:.0%} "
        f"of {b.duration_seconds:.0f} s; interruptions {b.interruption_count} (agent {b.agent.interruptions}, "
        f"customer {b.customer.interruptions}); average response {response}"
    ]


def render_text(analysis: Analysis) -> str:
    mapping = analysis.role_mapping
    roles = ", ".join(f"{speaker} = {role}" for speaker, role in mapping.speakers.items())
    lines = [
        f"Call analysis ({len(analysis.transcript.segments)} segments) - model {analysis.model}, "
        f"prompts {analysis.prompts_version}",
        f"Roles: {roles} (from {mapping.source}, confidence {mapping.confidence:.2f})",
        *_behavior(analysis),
        "",
        *_sentiment("Customer", analysis.roles.customer),
        "",
        *_sentiment("Agent", analysis.roles.agent),
        "",
        *_sentiment("Overall", analysis.overall),
    ]
    lines += _wrap_up(analysis) + _segments(analysis)
    if analysis.windows:
        lines += ["", f"Long call: read in {len(analysis.windows)} overlapping windows, then reduced."]
    for answer in analysis.answers:
        lines += ["", f"Q: {answer.question}", f"A: {answer.answer}", *(_quote(q) for q in answer.quotes)]
    if analysis.warnings:
        lines += ["", "Warnings:", *(f"  - [{w.code}] {w.message}" for w in analysis.warnings)]
    used = sorted({p.model_used for p in analysis.provenance})
    hits = sum(p.cache_hit for p in analysis.provenance)
    lines += ["", f"Answered by {', '.join(used)}; {hits}/{len(analysis.provenance)} answers from cache."]
    return "\n".join(lines) + "\n"
