"""What a question may quote, by line id: the grammar offers ids, never the transcript's text.

A quote is chosen by the id of a transcript line (``7``, or ``7.2`` for a sentence of a long turn,
the ids every prompt shows) and mapped back to that line's own text, so grounding is exact by
construction and no transcript text ever becomes grammar source (where a ``"`` or a ``\\`` once
crashed llama.cpp). A provider that follows no grammar may still answer with a line id or copy
the words; either is accepted when it names an allowed line, anything else is re-asked.
"""

from __future__ import annotations

from dataclasses import dataclass

from llm_sentiment.transcript.model import Role, Segment
from llm_sentiment.transcript.units import Unit

from .grounding import ground_quote, normalise
from .result import Quote

MIN_QUOTE_WORDS = 2


@dataclass(frozen=True)
class QuoteMenu:
    lines: dict[str, Unit]
    """Quotable lines by id, in transcript order."""

    @property
    def ids(self) -> list[str]:
        return list(self.lines)

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
