"""Plain text: one ``Speaker: text`` line per turn, optional ``[mm:ss]`` timestamps, any labels."""

from __future__ import annotations

import re

from llm_sentiment.errors import EmptyInputError, UnknownFormatError
from llm_sentiment.transcript.model import Segment, Transcript

_MAX_LABEL_CHARS = 40
_TIMESTAMP = r"(?:\[?\(?(?P<ts>\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?)\)?\]?\s*[-–]?\s*)"
_LINE = re.compile(rf"^\s*{_TIMESTAMP}?(?P<speaker>[^:\n]{{1,{_MAX_LABEL_CHARS}}}?)\s*:\s*(?P<text>.*\S)\s*$")
_SECONDS_PER_WORD = 0.4


def _parse_clock(value: str) -> float:
    seconds = 0.0
    for part in value.split(":"):
        seconds = seconds * 60 + float(part)
    return seconds


def _clean_label(label: str) -> str:
    return label.strip().strip("*_[]()").strip()


def _looks_like_label(label: str) -> bool:
    """`Customer Support` is a label; `and then I said` (a sentence with a colon) is not."""
    return bool(label) and len(label.split()) <= 4 and not label.startswith(("http", "www")) and label[-1] not in ".?!,"


def parse_plain_text(text: str) -> Transcript:
    rows: list[tuple[str, str, float | None]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        match = _LINE.match(line)
        label = _clean_label(match.group("speaker")) if match else ""
        if match and _looks_like_label(label):
            ts = match.group("ts")
            rows.append((label, match.group("text").strip(), _parse_clock(ts) if ts else None))
        elif rows:
            speaker, previous, start = rows[-1]
            rows[-1] = (speaker, f"{previous} {line.strip()}", start)
        else:
            raise UnknownFormatError(
                f"line 1 is not `Speaker: text`: {line.strip()[:60]!r}",
                hint="Plain transcripts need one `Speaker: text` line per turn.",
            )
    if not rows:
        raise EmptyInputError("the transcript has no `Speaker: text` lines")
    timed = all(start is not None for _, _, start in rows)
    segments = []
    for i, (speaker, body, start) in enumerate(rows):
        end: float | None = None
        if timed and start is not None:
            following = rows[i + 1][2] if i + 1 < len(rows) else None
            end = (
                following
                if following is not None and following > start
                else start + _SECONDS_PER_WORD * len(body.split())
            )
        segments.append(Segment(id=i + 1, speaker=speaker, start=start if timed else None, end=end, text=body))
    return Transcript(segments=segments, source_format="text")
