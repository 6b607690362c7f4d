"""Transcript input formats: plain ``Speaker: text``, our JSON, AssemblyAI and Deepgram JSON."""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from llm_sentiment.errors import (
    EmptyInputError,
    EncodingError,
    InputNotFoundError,
    InvalidTranscriptError,
    UnknownFormatError,
)

from .model import Role, RoleMapping, Segment, Transcript, Word

InputFormat = Literal["auto", "text", "json", "assemblyai", "deepgram", "audio"]
INPUT_FORMATS: tuple[str, ...] = ("auto", "text", "json", "assemblyai", "deepgram", "audio")

_MAX_LABEL_CHARS = 40
_TIMESTAMP = r"(?:\[?\(?(?P<ts>\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?)\)?\]?\s*[-–]?\s*)"
_LINE = re.compile(rf"^\s*{_TIMESTAMP}?(?P<speaker>[^:\n]{{1,{_MAX_LABEL_CHARS}}}?)\s*:\s*(?P<text>.*\S)\s*$")
_DEEPGRAM_GAP_S = 1.0
_SECONDS_PER_WORD = 0.4


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


class _NativeSegment(BaseModel):
    speaker: str | int
    text: str
    start: float | None = None
    end: float | None = None
    role: Role | None = None
    channel: int | None = None


class _NativeDoc(BaseModel):
    segments: list[_NativeSegment]
    language: str | None = None
    duration: float | None = None


def _invalid(where: str, exc: ValidationError) -> InvalidTranscriptError:
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"])
    return InvalidTranscriptError(f"{where}: field {field!r}: {first['msg']}", field=field)


def _finish(segments: Iterable[Segment], source: str, **extra: Any) -> Transcript:
    kept = [s for s in segments if s.text.strip()]
    if not kept:
        raise EmptyInputError(f"the {source} transcript has no spoken text")
    renumbered = [s.model_copy(update={"id": i + 1}) for i, s in enumerate(kept)]
    return Transcript(segments=renumbered, source_format=source, **extra)


def parse_native(doc: Any) -> Transcript:
    try:
        parsed = _NativeDoc.model_validate(doc)
    except ValidationError as exc:
        raise _invalid("transcript JSON", exc) from None
    segments = [
        Segment(
            id=i + 1,
            speaker=str(s.speaker),
            start=s.start,
            end=s.end,
            text=s.text.strip(),
            role=s.role,
            channel=s.channel,
        )
        for i, s in enumerate(parsed.segments)
    ]
    transcript = _finish(segments, "json", language=parsed.language, duration=parsed.duration)
    roles = {s.speaker: s.role for s in transcript.segments if s.role}
    if roles and len(roles) == len(transcript.speakers()):
        transcript = transcript.with_roles(RoleMapping(speakers=roles, source="input", confidence=1.0))
    return transcript


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
        raise _invalid("AssemblyAI transcript", exc) from None
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
    return _finish(segments, "assemblyai", language=language, duration=parsed.audio_duration)


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
        raise _invalid("Deepgram response", exc) from None
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
    return _finish(segments, "deepgram", language=language, duration=duration)


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
