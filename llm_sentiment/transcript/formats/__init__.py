"""Transcript input formats: plain ``Speaker: text``, our JSON, AssemblyAI and Deepgram JSON."""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from llm_sentiment.errors import (
    EmptyInputError,
    EncodingError,
    InputNotFoundError,
    InvalidTranscriptError,
    UnknownFormatError,
)
from llm_sentiment.transcript.model import Transcript

from .assemblyai import parse_assemblyai
from .deepgram import parse_deepgram
from .native import parse_native
from .plain import parse_plain_text

InputFormat = Literal["auto", "text", "json", "assemblyai", "deepgram", "audio"]
INPUT_FORMATS: tuple[str, ...] = ("auto", "text", "json", "assemblyai", "deepgram", "audio")

__all__ = [
    "INPUT_FORMATS",
    "InputFormat",
    "decode_text",
    "load_transcript",
    "parse_assemblyai",
    "parse_deepgram",
    "parse_native",
    "parse_plain_text",
    "parse_transcript",
    "read_input",
]


def read_input(path: Path) -> bytes:
    if not path.exists():
        raise InputNotFoundError(f"{path}: no such file", hint="Check the path.")
    if path.is_dir():
        raise InputNotFoundError(f"{path}: is a directory, not a transcript or recording")
    data = path.read_bytes()
    if not data.strip():
        raise EmptyInputError(f"{path}: the file is empty", hint="Pass a transcript or a recording with content.")
    return data


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM) or BOM-marked UTF-16; anything else is refused, never guessed."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif b"\x00" in data[:8192]:
        raise UnknownFormatError(
            "the input looks binary, not like a transcript",
            hint="Pass a recording (wav, flac, mp3, ogg, m4a, webm) or a text/JSON transcript.",
        )
    else:
        encoding = "utf-8-sig"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise EncodingError(
            f"the input is not valid {encoding.upper()} (byte {exc.start}: {data[exc.start : exc.start + 4]!r})",
            hint="Save the transcript as UTF-8 and try again.",
        ) from None
    if not text.strip():
        raise EmptyInputError("the input has no text")
    return text


def _looks_like_json(text: str) -> bool:
    """`{...}` or `[...]`, but not a plain transcript whose first line starts with `[00:01]`."""
    return text.startswith("{") or (text.startswith("[") and not re.match(r"\[\s*\d{1,2}:\d{2}", text))


def parse_transcript(data: bytes, fmt: InputFormat = "auto") -> Transcript:
    text = decode_text(data)
    if fmt == "text" or (fmt == "auto" and not _looks_like_json(text.lstrip())):
        return parse_plain_text(text)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidTranscriptError(
            f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
            hint="Fix the JSON, or pass --input-format text for a plain `Speaker: text` transcript.",
        ) from None
    parser = _JSON_PARSERS.get(fmt) if fmt != "auto" else _detect_json(doc)
    if parser is None:
        keys = ", ".join(sorted(doc)[:8]) if isinstance(doc, dict) else type(doc).__name__
        raise UnknownFormatError(
            f"unrecognised transcript JSON (top level: {keys})",
            hint='Expected {"segments": [...]}, an AssemblyAI transcript with "utterances", '
            'or a Deepgram response with "results".',
        )
    return parser(doc)


def load_transcript(path: Path, fmt: InputFormat = "auto") -> Transcript:
    return parse_transcript(read_input(path), fmt)


_JSON_PARSERS: dict[str, Callable[[Any], Transcript]] = {
    "json": parse_native,
    "assemblyai": parse_assemblyai,
    "deepgram": parse_deepgram,
}


def _detect_json(doc: Any) -> Callable[[Any], Transcript] | None:
    if not isinstance(doc, dict):
        return None
    if "segments" in doc:
        return parse_native
    if "utterances" in doc and "results" not in doc:
        return parse_assemblyai
    if isinstance(doc.get("results"), dict):
        return parse_deepgram
    return None
