"""Words and sentences of transcript text: the normal form quotes are compared in, and sentence spans."""

from __future__ import annotations

import re
import unicodedata

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=\S)")


def normalise_with_map(text: str) -> tuple[str, list[int]]:
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
    return normalise_with_map(text)[0]


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
