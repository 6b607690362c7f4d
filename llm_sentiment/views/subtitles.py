"""A transcription result as readable text, SRT or WebVTT subtitles (JSON is the model itself)."""

from __future__ import annotations

from llm_sentiment.speech.recording import TranscriptionResult
from llm_sentiment.transcript.model import Segment


def _who(segment: Segment) -> str:
    return segment.role.title() if segment.role else segment.speaker


def _stamp(seconds: float, separator: str) -> str:
    millis = round(max(0.0, seconds) * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _clock(seconds: float) -> str:
    """12:03.4, or 1:12:03.4 past an hour."""
    minutes, secs = divmod(max(0.0, seconds), 60)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}:{minutes:02d}:{secs:04.1f}" if hours else f"{minutes:02d}:{secs:04.1f}"


def _times(segment: Segment) -> tuple[float, float]:
    start = segment.start or 0.0
    return start, max(segment.end or start, start)


def render_text(result: TranscriptionResult) -> str:
    t, audio = result.transcript, result.audio
    mapping = t.role_mapping
    roles = f"roles from {mapping.source} (confidence {mapping.confidence:.2f})" if mapping else "roles undetermined"
    lines = [
        f"# {audio.duration:.1f} s, {audio.channels}-channel {audio.container} ({audio.codec}); "
        f"{result.model}, language {t.language or 'unknown'}; {roles}"
        + ("; from the transcript cache" if result.cache_hit else "")
    ]
    for s in t.segments:
        start, end = _times(s)
        speaker = f"{_who(s)} ({s.speaker})" if s.role else s.speaker
        lines.append(f"[{_clock(start)} - {_clock(end)}] {speaker}: {s.text}")
    lines.extend(f"! {w.code}: {w.message}" for w in t.warnings)
    return "\n".join(lines) + "\n"


def render_srt(result: TranscriptionResult) -> str:
    blocks = []
    for index, s in enumerate(result.transcript.segments, start=1):
        start, end = _times(s)
        text = s.text.replace("-->", "->")
        blocks.append(f"{index}\n{_stamp(start, ',')} --> {_stamp(end, ',')}\n{_who(s)}: {text}\n")
    return "\n".join(blocks)


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_vtt(result: TranscriptionResult) -> str:
    cues = ["WEBVTT\n"]
    for s in result.transcript.segments:
        start, end = _times(s)
        cues.append(f"{_stamp(start, '.')} --> {_stamp(end, '.')}\n<v {_vtt_escape(_who(s))}>{_vtt_escape(s.text)}\n")
    return "\n".join(cues)


RENDERERS = {"text": render_text, "srt": render_srt, "vtt": render_vtt}
