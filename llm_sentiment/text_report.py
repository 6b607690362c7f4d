"""A readable summary of an analysis, for a terminal."""

from __future__ import annotations

from .analysis import Analysis, Quote, Sentiment


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
    for answer in analysis.answers:
        lines += ["", f"Q: {answer.question}", f"A: {answer.answer}", *(_quote(q) for q in answer.quotes)]
    if analysis.warnings:
        lines += ["", "Warnings:", *(f"  - [{w.code}] {w.message}" for w in analysis.warnings)]
    used = sorted({p.model_used for p in analysis.provenance})
    hits = sum(p.cache_hit for p in analysis.provenance)
    lines += ["", f"Answered by {', '.join(used)}; {hits}/{len(analysis.provenance)} answers from cache."]
    return "\n".join(lines) + "\n"
