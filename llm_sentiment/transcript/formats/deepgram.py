"""Deepgram response JSON: ``results.utterances`` when present, else words per channel or per diarized speaker."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ValidationError

from llm_sentiment.transcript.model import Segment, Transcript, Word

from ._shared import finish, invalid

_DEEPGRAM_GAP_S = 1.0


class _DgWord(BaseModel):
    word: str
    punctuated_word: str | None = None
    start: float
    end: float
    confidence: float | None = None
    speaker: int | None = None


class _DgUtterance(BaseModel):
    start: float
    end: float
    transcript: str
    channel: int = 0
    speaker: int | None = None
    words: list[_DgWord] = []


class _DgAlternative(BaseModel):
    transcript: str = ""
    words: list[_DgWord] = []


class _DgChannel(BaseModel):
    alternatives: list[_DgAlternative]
    detected_language: str | None = None


class _DgResults(BaseModel):
    channels: list[_DgChannel] = []
    utterances: list[_DgUtterance] | None = None


class _DgMetadata(BaseModel):
    duration: float | None = None


class _DgDoc(BaseModel):
    results: _DgResults
    metadata: _DgMetadata | None = None


def _dg_words(words: list[_DgWord]) -> list[Word]:
    return [Word(text=w.punctuated_word or w.word, start=w.start, end=w.end, probability=w.confidence) for w in words]


def _group_words(words: list[_DgWord], key: Callable[[_DgWord], str]) -> list[tuple[str, list[_DgWord]]]:
    """Consecutive words of one speaker, split at long pauses, become one turn."""
    groups: list[tuple[str, list[_DgWord]]] = []
    for w in words:
        label = key(w)
        if groups and groups[-1][0] == label and w.start - groups[-1][1][-1].end <= _DEEPGRAM_GAP_S:
            groups[-1][1].append(w)
        else:
            groups.append((label, [w]))
    return groups


def parse_deepgram(doc: Any) -> Transcript:
    try:
        parsed = _DgDoc.model_validate(doc)
    except ValidationError as exc:
        raise invalid("Deepgram response", exc) from None
    results = parsed.results
    multichannel = len(results.channels) > 1
    segments: list[Segment] = []
    if results.utterances:
        for u in results.utterances:
            speaker = f"Channel {u.channel}" if multichannel or u.speaker is None else f"Speaker {u.speaker}"
            segments.append(
                Segment(
                    id=1,
                    speaker=speaker,
                    start=u.start,
                    end=u.end,
                    text=u.transcript.strip(),
                    words=_dg_words(u.words) or None,
                    channel=u.channel if multichannel else None,
                )
            )
    else:
        for index, channel in enumerate(results.channels):
            if not channel.alternatives:
                continue
            words = channel.alternatives[0].words

            def label(w: _DgWord, index: int = index) -> str:
                if multichannel or w.speaker is None:
                    return f"Channel {index}"
                return f"Speaker {w.speaker}"

            for speaker, group in _group_words(words, label):
                segments.append(
                    Segment(
                        id=1,
                        speaker=speaker,
                        start=group[0].start,
                        end=group[-1].end,
                        text=" ".join(w.punctuated_word or w.word for w in group),
                        words=_dg_words(group),
                        channel=index if multichannel else None,
                    )
                )
        segments.sort(key=lambda s: (s.start or 0.0, s.channel or 0))
    language = results.channels[0].detected_language if results.channels else None
    duration = parsed.metadata.duration if parsed.metadata else None
    return finish(segments, "deepgram", language=language, duration=duration)
