"""What every JSON format's parser shares: field errors that name the field, and the finished transcript."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from llm_sentiment.errors import EmptyInputError, InvalidTranscriptError
from llm_sentiment.transcript.model import Segment, Transcript


def invalid(where: str, exc: ValidationError) -> InvalidTranscriptError:
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"])
    return InvalidTranscriptError(f"{where}: field {field!r}: {first['msg']}", field=field)


def finish(segments: Iterable[Segment], source: str, **extra: Any) -> Transcript:
    kept = [s for s in segments if s.text.strip()]
    if not kept:
        raise EmptyInputError(f"the {source} transcript has no spoken text")
    renumbered = [s.model_copy(update={"id": i + 1}) for i, s in enumerate(kept)]
    return Transcript(segments=renumbered, source_format=source, **extra)
