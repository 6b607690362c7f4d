"""Quotes must be the speaker's own words: find them verbatim (modulo case, spacing, punctuation)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from llm_sentiment.transcript.model import Role, Segment

from .result import Quote

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=\S)")


def _normalise_with_map(text: str) -> tuple[str, list[int]]:
    """Lower-case word characters separated by single spaces, with each kept char's offset in ``text``."""
    chars: list[str] = []
    offsets: list[int] = []
    pending_space = False
    for i, ch in enumerate(unicodedata.normalize("NFC", text)):
        if ch.isalnum():
            if pending_space and chars:
                chars.append(" ")
                offsets.append(i)
            pending_space = False
            chars.append(ch.casefold())
            offsets.append(i)
        elif ch in "'’":
            continue  # "don't" and "dont" are the same words
        else:
            pending_space = True
    return "".join(chars), offsets


def normalise(text: str) -> str:
    return _normalise_with_map(text)[0]


def _locate(needle: str, text: str) -> tuple[int, int] | None:
    """Span in ``text`` of the whole-word normalised match of ``needle``."""
    norm, offsets = _normalise_with_map(text)
    padded = f" {norm} "
    at = padded.find(f" {needle} ")
    if at < 0:
        return None
    start = offsets[at]
    end = offsets[at + len(needle) - 1] + 1
    return start, end


def ground_quote(quote: str, segments: Iterable[Segment], min_words: int = 2) -> Quote | None:
    """The transcript's own span for ``quote``, or None when no segment holds it verbatim."""
    needle = normalise(quote)
    if len(needle.split()) < min_words:
        return None
    for segment in segments:
        span = _locate(needle, segment.text)
        if span is not None:
            start, end = span
            if quote.rstrip() and not quote.rstrip()[-1].isalnum():
                while end < len(segment.text) and not segment.text[end].isalnum() and not segment.text[end].isspace():
                    end += 1  # keep the sentence's own closing punctuation when the quote had some
            return Quote(
                text=segment.text[start:end],
                segment_id=segment.id,
                start=segment.start,
                end=segment.end,
                speaker=segment.speaker,
                role=segment.role,
            )
    return None


def segments_for(segments: list[Segment], role: Role | None) -> list[Segment]:
    return [s for s in segments if role is None or s.role == role]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` offsets of each sentence in ``text``, surrounding whitespace excluded."""
    spans = []
    at = 0
    for gap in [*_SENTENCE_END.finditer(text), None]:
        end = gap.start() if gap else len(text)
        piece = text[at:end]
        if piece.strip():
            lead = len(piece) - len(piece.lstrip())
            spans.append((at + lead, at + len(piece.rstrip())))
        at = gap.end() if gap else end
    return spans


def split_sentences(text: str) -> list[str]:
    return [text[start:end] for start, end in sentence_spans(text)]


def quotable_sentences(segments: Iterable[Segment], min_words: int = 2) -> list[str]:
    """Distinct sentences long enough to quote, in transcript order: the menu a constrained quote picks from."""
    seen: dict[str, None] = {}
    for segment in segments:
        for sentence in split_sentences(segment.text):
            if len(normalise(sentence).split()) >= min_words:
                seen.setdefault(sentence, None)
    return list(seen)
