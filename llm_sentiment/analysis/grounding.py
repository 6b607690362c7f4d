"""Quotes are the speaker's own words: chosen by line id, or found verbatim (modulo case, spacing, punctuation).

A quote is chosen by the id of a transcript line (``7``, or ``7.2`` for a sentence of a long turn,
the ids every prompt shows) and mapped back to that line's own text, so grounding is exact by
construction and no transcript text ever becomes grammar source (where a ``"`` or a ``\\`` once
crashed llama.cpp). A provider that follows no grammar may still answer with a line id or copy
the words; either is accepted when it names an allowed line, anything else is re-asked.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from llm_sentiment.transcript.model import Role, Segment
from llm_sentiment.transcript.text import normalise, normalise_with_map
from llm_sentiment.transcript.units import Unit

from .result import Quote, Warning

MIN_QUOTE_WORDS = 2


@dataclass(frozen=True)
class QuoteMenu:
    lines: dict[str, Unit]
    """Quotable lines by id, in transcript order."""

    @property
    def ids(self) -> list[str]:
        return list(self.lines)

    def has_id(self, value: str) -> bool:
        """Whether ``value`` is an allowed line's id (``7``, ``[7.2]``); words are no id."""
        return value.strip().strip("[]") in self.lines

    def resolve(self, value: str) -> Quote | None:
        """The quote an answer names: an allowed line id, or (no grammar) an allowed line's exact words."""
        unit = self.lines.get(value.strip().strip("[]"))
        if unit is not None:
            return _quote(unit)
        segments = list({id(u.segment): u.segment for u in self.lines.values()}.values())
        return ground_quote(value, segments, MIN_QUOTE_WORDS)

    def unknown(self, values: list[str]) -> list[str]:
        return [v for v in values if self.resolve(v) is None]


def quote_menu(lines: list[Unit], role: Role | None = None) -> QuoteMenu:
    """The lines of ``role`` (every line for ``None``) long enough to be a quote."""
    return QuoteMenu(
        {
            u.key: u
            for u in lines
            if (role is None or u.segment.role == role) and len(normalise(u.text).split()) >= MIN_QUOTE_WORDS
        }
    )


def _quote(unit: Unit) -> Quote:
    segment: Segment = unit.segment
    return Quote(
        text=unit.text,
        segment_id=segment.id,
        start=unit.start,
        end=unit.end,
        speaker=segment.speaker,
        role=segment.role,
    )


def _locate(needle: str, text: str) -> tuple[int, int] | None:
    """Span in ``text`` of the whole-word normalised match of ``needle``."""
    norm, offsets = normalise_with_map(text)
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


def ungrounded(quotes: list[str], menu: QuoteMenu, whose: str) -> str | None:
    missing = menu.unknown(quotes)
    if not missing:
        return None
    listed = "; ".join(repr(q[:80]) for q in missing)
    return f"these are not ids of lines said by {whose}: {listed}. Give the [id] of each line you quote"


def grounded(quotes: list[str], menu: QuoteMenu, question_id: str, warnings: list[Warning]) -> list[Quote]:
    """The lines the answer names, as the transcript's own words; anything else is dropped with a warning."""
    kept: dict[tuple[int, str], Quote] = {}
    for value in quotes:
        found = menu.resolve(value)
        if found is None:
            warnings.append(
                Warning(
                    code="quote.ungrounded",
                    question_id=question_id,
                    message=f"dropped a quote that names no line of the transcript: {value[:120]!r}",
                )
            )
            continue
        kept.setdefault((found.segment_id, found.text.lower()), found)
    return list(kept.values())
