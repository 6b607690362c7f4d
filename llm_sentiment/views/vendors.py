"""The one native ``Analysis`` in the response shapes of other services. Pure: no LLM, no I/O.

- ``assemblyai``: a completed AssemblyAI transcript with ``sentiment_analysis_results`` (ms times,
  ``POSITIVE|NEUTRAL|NEGATIVE``).
- ``deepgram``: a Deepgram text-intelligence response, ``results.sentiments.segments`` (word
  indexes, inclusive) and ``average``.
- ``insights``: the call-insights API's object, filterable by ``type``, ``speaker`` and
  ``granularity``, its labels from that API's own score bands (``INSIGHTS_BANDS``).

A call without timings gets its times from the estimated timeline, and every view that carries
times says ``"time_basis": "estimated"``.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any, Literal

from llm_sentiment.analysis.result import Analysis, SegmentSentiment, Tally
from llm_sentiment.analysis.timeline import Placed, place, tally
from llm_sentiment.ask.answers import Label
from llm_sentiment.ask.asking import Provenance
from llm_sentiment.ask.calibration import Thresholds
from llm_sentiment.transcript.model import Role

View = Literal["native", "assemblyai", "deepgram", "insights"]
VIEWS: tuple[str, ...] = ("native", "assemblyai", "deepgram", "insights")
InsightType = Literal["sentiment", "behavioral", "summary", "all"]
INSIGHT_TYPES: tuple[str, ...] = ("sentiment", "behavioral", "summary", "all")
Speaker = Literal["Agent", "Customer"]
SPEAKERS: tuple[str, ...] = ("Agent", "Customer")
Granularity = Literal["segment", "minute", "call"]
GRANULARITIES: tuple[str, ...] = ("segment", "minute", "call")

INSIGHTS_BANDS = Thresholds(positive=0.5, negative=-0.4)
"""The call-insights API's score reference: +0.5 to +1.0 positive, -1.0 to -0.4 negative, neutral between
(each edge in its outer band, as in our own bands). A client of that API reads its labels by these bands, so
the view labels every score it reports with them, whatever bands the native analysis used."""

_ROLE_NAMES: dict[Role, Speaker] = {"agent": "Agent", "customer": "Customer"}
_ROLES: dict[Speaker, Role] = {"Agent": "agent", "Customer": "customer"}


def call_id(analysis: Analysis) -> str:
    """Stable for the same transcript: the id every view reports."""
    digest = hashlib.sha256(analysis.transcript.model_dump_json(exclude={"role_mapping"}).encode()).hexdigest()
    return f"call_{digest[:16]}"


def _time_basis(placed_measured: bool) -> str:
    return "measured" if placed_measured else "estimated"


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def assemblyai(analysis: Analysis, *, source: str) -> dict[str, Any]:
    """``source`` is what AssemblyAI reports as ``audio_url``: the file or URL that was analyzed."""
    placed, measured = place(analysis.segments)
    transcript = analysis.transcript
    channels = {s.id: s.channel for s in transcript.segments}
    return {
        "id": call_id(analysis),
        "status": "completed",
        "audio_url": source,
        "language_code": transcript.language,
        "audio_duration": round(analysis.timeline.duration) if analysis.timeline else None,
        "text": " ".join(s.text for s in transcript.segments),
        "sentiment_analysis": True,
        "sentiment_analysis_results": [
            {
                "text": p.segment.text,
                "start": _ms(p.start),
                "end": _ms(p.end),
                "sentiment": p.segment.label.upper(),
                "confidence": p.segment.confidence,
                "speaker": p.segment.speaker,
                "channel": None if channels[p.segment.segment_id] is None else str(channels[p.segment.segment_id]),
            }
            for p in placed
        ],
        "time_basis": _time_basis(measured),
    }


def deepgram(analysis: Analysis) -> dict[str, Any]:
    overall = analysis.timeline.overall.tally if analysis.timeline else None
    return deepgram_response(
        analysis.segments,
        overall,
        model=analysis.model,
        provenance=analysis.provenance,
        language=analysis.transcript.language or "en",
        request_id=call_id(analysis),
    )


def average(segments: list[SegmentSentiment], thresholds: Thresholds) -> Tally | None:
    """The duration-weighted mean of scored segments (estimated from word counts when untimed)."""
    placed, _measured = place(segments)
    return tally(((p.segment, p.weight) for p in placed), thresholds)


def deepgram_response(
    scored: list[SegmentSentiment],
    overall: Tally | None,
    *,
    model: str,
    provenance: list[Provenance],
    language: str,
    request_id: str,
) -> dict[str, Any]:
    """Deepgram's text-intelligence response over scored segments (also ``POST /v1/read``'s answer)."""
    segments = []
    word = 0
    for s in scored:
        count = len(s.text.split())
        segments.append(
            {
                "text": s.text,
                "start_word": word,
                "end_word": word + count - 1,
                "sentiment": s.label,
                "sentiment_score": s.score,
            }
        )
        word += count
    batches = [p for p in provenance if p.segment_ids is not None]
    return {
        "metadata": {
            "request_id": request_id,
            "language": language,
            "sentiment_info": {
                "model_uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"llm-sentiment:{model}")),
                "input_tokens": sum(p.prompt_tokens for p in batches),
                "output_tokens": sum(p.completion_tokens for p in batches),
            },
        },
        "results": {
            "sentiments": {
                "segments": segments,
                "average": {
                    "sentiment": overall.label if overall else "neutral",
                    "sentiment_score": overall.score if overall else 0.0,
                },
            }
        },
    }


def _speaker(role: Role | None) -> str:
    return _ROLE_NAMES[role] if role else "Other"


def _segment_rows(placed: list[Placed], thresholds: Thresholds) -> list[dict[str, Any]]:
    """One row per transcript segment; a split turn's sentences are tallied back into it."""
    by_segment: dict[int, list[Placed]] = {}
    for p in placed:
        by_segment.setdefault(p.segment.segment_id, []).append(p)
    rows = []
    for segment_id, parts in by_segment.items():
        merged = tally(((p.segment, p.weight) for p in parts), thresholds)
        assert merged is not None
        rows.append(
            {
                "segment_id": segment_id,
                "speaker": _speaker(parts[0].segment.role),
                "start": round(parts[0].start, 3),
                "end": round(parts[-1].end, 3),
                "label": merged.label,
                "score": merged.score,
            }
        )
    return rows


def _minute_rows(analysis: Analysis, role: Role | None, thresholds: Thresholds) -> list[dict[str, Any]]:
    assert analysis.timeline is not None
    rows = []
    for minute in analysis.timeline.minutes:
        row: Tally | None = minute.overall if role is None else getattr(minute, role)
        if row is not None:
            rows.append(
                {
                    "minute": minute.minute,
                    "start": minute.start,
                    "end": minute.end,
                    "label": thresholds.label(row.score),
                    "score": row.score,
                }
            )
    return rows


def _sentiment(analysis: Analysis, speaker: Speaker | None, granularity: Granularity) -> dict[str, Any]:
    role = _ROLES[speaker] if speaker else None
    judged = (
        analysis.roles.customer if role == "customer" else analysis.roles.agent if role == "agent" else analysis.overall
    )
    timeline = analysis.timeline
    line = getattr(timeline, role or "overall") if timeline else None
    placed, measured = place(analysis.segments)
    own = [p for p in placed if role is None or p.segment.role == role]
    label: Label = INSIGHTS_BANDS.label(judged.score)
    if granularity == "segment":
        rows = _segment_rows(own, INSIGHTS_BANDS)
    elif granularity == "minute":
        rows = _minute_rows(analysis, role, INSIGHTS_BANDS)
    else:
        rows = [{"start": 0.0, "end": timeline.duration if timeline else 0.0, "label": label, "score": judged.score}]
    trend = line.trend if line else None
    turn = trend.turning_point if trend else None
    return {
        "overall_label": label,
        "overall_score": judged.score,
        "trend": trend.direction if trend else "stable",
        "turning_point": {
            "segment_id": turn.segment_id,
            "time": turn.time,
            "quote": turn.quote.text,
            "speaker": _speaker(turn.quote.role),
        }
        if turn
        else None,
        "granularity": granularity,
        "time_basis": _time_basis(measured),
        "segments": rows,
    }


def _behavioral(analysis: Analysis, speaker: Speaker | None) -> dict[str, Any] | None:
    metrics = analysis.behavioral
    if metrics is None:
        return None
    if speaker is None:
        return metrics.model_dump(mode="json", exclude={"agent", "customer"})
    own = getattr(metrics, _ROLES[speaker])
    return {"speaker": speaker, "silence_ratio": metrics.silence_ratio, **own.model_dump(mode="json")}


def insights(
    analysis: Analysis,
    *,
    insight_type: InsightType = "all",
    speaker: Speaker | None = None,
    granularity: Granularity = "segment",
) -> dict[str, Any]:
    body: dict[str, Any] = {"job_id": call_id(analysis), "pipeline": "full-analysis"}
    if insight_type in ("sentiment", "all"):
        body["sentiment"] = _sentiment(analysis, speaker, granularity)
    if insight_type in ("behavioral", "all"):
        body["behavioral"] = _behavioral(analysis, speaker)
    if insight_type in ("summary", "all"):
        body["summary"] = analysis.summary.text if analysis.summary else None
        body["resolution"] = analysis.resolution.status if analysis.resolution else None
        body["recommendations"] = [r.text for r in analysis.recommendations]
    return body
