"""AssemblyAI transcript JSON (``utterances``, requested with ``speaker_labels`` or ``multichannel``); ms to seconds."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from llm_sentiment.errors import InvalidTranscriptError
from llm_sentiment.transcript.model import Segment, Transcript, Word

from ._shared import finish, invalid


class _AaiWord(BaseModel):
    text: str
    start: float
    end: float
    confidence: float | None = None


class _AaiUtterance(BaseModel):
    speaker: str | int | None = None
    channel: str | int | None = None
    start: float
    end: float
    text: str
    words: list[_AaiWord] | None = None


class _AaiDoc(BaseModel):
    utterances: list[_AaiUtterance] | None
    language_code: str | None = None
    audio_duration: float | None = None


def parse_assemblyai(doc: Any) -> Transcript:
    try:
        parsed = _AaiDoc.model_validate(doc)
    except ValidationError as exc:
        raise invalid("AssemblyAI transcript", exc) from None
    if not parsed.utterances:
        raise InvalidTranscriptError(
            "the AssemblyAI transcript has no utterances",
            hint="Request it with speaker_labels=true (or multichannel=true) so each turn has a speaker.",
        )
    segments = []
    for i, u in enumerate(parsed.utterances):
        speaker = f"Channel {u.channel}" if u.speaker is None and u.channel is not None else str(u.speaker)
        words = [
            Word(text=w.text, start=w.start / 1000, end=w.end / 1000, probability=w.confidence) for w in u.words or []
        ]
        segments.append(
            Segment(
                id=i + 1,
                speaker=speaker,
                start=u.start / 1000,
                end=u.end / 1000,
                text=u.text.strip(),
                words=words or None,
            )
        )
    language = parsed.language_code.split("_")[0] if parsed.language_code else None
    return finish(segments, "assemblyai", language=language, duration=parsed.audio_duration)
