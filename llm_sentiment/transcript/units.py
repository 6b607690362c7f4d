"""What gets a sentiment of its own: each turn, or each sentence of a long turn, with honest times.

A long turn mixes moods ("I'm sorry about that. The charge stands."), so it is split into its
sentences; a sentence too short to carry a mood on its own ("Right.") joins the next one, and a
run-on longer than ``_MAX_UNIT_WORDS`` (an unpunctuated monologue) is cut into even pieces. A split
sentence takes its times from the turn's word times when the words line up with the text, else
the turn's span is shared out by text length (``timing="interpolated"``). Untimed transcripts keep
``None``: times are never invented here (see ``estimated_times`` for the clearly marked estimate).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .model import Segment, Timing, Transcript
from .text import normalise, sentence_spans

SECONDS_PER_WORD = 0.4
"""150 words a minute: the speaking rate an untimed transcript's estimated timeline assumes."""

_MIN_SENTENCE_WORDS = 3
_MAX_UNIT_WORDS = 60
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Unit:
    id: int
    segment: Segment
    sentence: int | None
    text: str
    start: float | None
    end: float | None
    timing: Timing | None

    @property
    def words(self) -> int:
        return max(1, len(self.text.split()))

    @property
    def key(self) -> str:
        """The line id a prompt shows and an answer names: ``7``, or ``7.2`` for the second sentence of turn 7."""
        return str(self.segment.id) if self.sentence is None else f"{self.segment.id}.{self.sentence}"


def _sentences(text: str) -> list[str]:
    """Verbatim sentences; one under ``_MIN_SENTENCE_WORDS`` words joins the next (the last, the previous)."""
    spans: list[tuple[int, int]] = []
    pending: int | None = None
    for start, end in sentence_spans(text):
        start = start if pending is None else pending
        if len(text[start:end].split()) < _MIN_SENTENCE_WORDS:
            pending = start
            continue
        spans.append((start, end))
        pending = None
    if pending is not None:
        last = sentence_spans(text)[-1][1]
        spans = [*spans[:-1], (spans[-1][0], last)] if spans else [(pending, last)]
    return [piece for start, end in spans for piece in _pieces(text[start:end])]


def _pieces(sentence: str) -> list[str]:
    """A run-on sentence cut at word boundaries into even pieces of at most ``_MAX_UNIT_WORDS`` words."""
    words = list(_WORD.finditer(sentence))
    if len(words) <= _MAX_UNIT_WORDS:
        return [sentence]
    count = math.ceil(len(words) / _MAX_UNIT_WORDS)
    size = math.ceil(len(words) / count)
    return [sentence[words[i].start() : words[min(i + size, len(words)) - 1].end()] for i in range(0, len(words), size)]


def _word_spans(segment: Segment, parts: list[str]) -> list[tuple[float, float]] | None:
    """Each part's span from the segment's word times, when the words match the text one to one."""
    if not segment.words:
        return None
    counts = [len(normalise(p).split()) for p in parts]
    words = [w for w in segment.words if normalise(w.text)]
    if sum(counts) != len(words):
        return None
    spans = []
    at = 0
    for count in counts:
        spans.append((words[at].start, words[at + count - 1].end))
        at += count
    return spans


def _shared_spans(start: float, end: float, parts: list[str]) -> list[tuple[float, float]]:
    total = sum(len(p) for p in parts)
    spans = []
    at = start
    for part in parts:
        length = (end - start) * len(part) / total
        spans.append((round(at, 3), round(at + length, 3)))
        at += length
    return spans


def _split(segment: Segment, max_words: int) -> tuple[list[str], list[tuple[float, float]] | None, Timing | None]:
    start, end = segment.start, segment.end
    parts = _sentences(segment.text) if len(segment.text.split()) > max_words else [segment.text]
    if len(parts) <= 1:
        parts = [segment.text]
    if start is None or end is None:
        return parts, None, None
    if len(parts) == 1:
        return parts, [(start, end)], "segment"
    spans = _word_spans(segment, parts)
    if spans is not None:
        return parts, spans, "words"
    return parts, _shared_spans(start, end, parts), "interpolated"


def sentiment_units(transcript: Transcript, max_words: int) -> list[Unit]:
    """Turns longer than ``max_words`` words are split into sentences; every unit has a 1-based id."""
    units: list[Unit] = []
    for segment in transcript.segments:
        parts, spans, timing = _split(segment, max_words)
        for index, text in enumerate(parts):
            start, end = spans[index] if spans else (None, None)
            units.append(
                Unit(
                    id=len(units) + 1,
                    segment=segment,
                    sentence=index + 1 if len(parts) > 1 else None,
                    text=text,
                    start=start,
                    end=end,
                    timing=timing,
                )
            )
    return units


def estimated_times(word_counts: list[int]) -> list[tuple[float, float]]:
    """Back-to-back spans at ``SECONDS_PER_WORD``, for a call without timings (marked as estimated)."""
    spans = []
    at = 0.0
    for count in word_counts:
        length = max(1, count) * SECONDS_PER_WORD
        spans.append((round(at, 3), round(at + length, 3)))
        at += length
    return spans
