"""A call recording in, a speaker-labelled transcript out: validate, decode, transcribe, tell speakers apart.

Stereo (the contact-center standard: one party per channel) is transcribed channel by channel and
merged by time; a "stereo" file whose channels are identical, or with one silent channel, is a mono
recording and treated as one. Mono audio is transcribed once and its two voices separated by a
diarizer. ``transcribe_samples`` is given its transcriber and diarizer (``ports``) and never builds
one. ``transcribe_recording`` is given a ``Recognizer`` that decodes and transcribes a file (in the
speech process, ``host``); its result is cached by the audio's content hash, the model and the
options, so analysing the same recording again never decodes or transcribes it again. Roles are
assigned after the cache (``roles.recording``), because they depend on ``--channels`` and on an LLM.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
from pydantic import BaseModel, Field, ValidationError

from llm_sentiment._util.jsoncache import JsonCache
from llm_sentiment.errors import ModelMissingError
from llm_sentiment.settings import SpeechOptions
from llm_sentiment.transcript.model import Segment, Transcript, Warning, Word

from .audio import SAMPLE_RATE, AudioInfo, AudioLimits, identical_channels, probe, silent_channel
from .ports import Diarization, Diarizer, SpeakerSpan, Transcriber

DIARIZATION_VERSION = "1"
VOICE_NAMES = ("Speaker 1", "Speaker 2")
MONO_SPEAKER = "Speaker"

Progress = Callable[[str, float], None]
"""Called with the stage ("transcribing", "diarizing") and the fraction of the recording done."""


class AudioOptions(BaseModel):
    model: str | None = Field(None, description="Whisper: embedded name or CTranslate2 directory (default: settings).")
    language: str | None = None
    channels: str | None = Field(None, description='Roles of channel 0 and 1, e.g. "agent,customer".')
    use_cache: bool = True


class VoiceSeparation(BaseModel):
    """How well the two voices of a mono recording came apart (the spans themselves are applied, not kept)."""

    separated: bool
    confidence: float = Field(ge=0, le=1)
    similarity: float | None = None
    shares: list[float] = Field(default_factory=list)
    reason: str | None = None


class TranscriptionResult(BaseModel):
    transcript: Transcript
    audio: AudioInfo
    model: str = Field(description="The Whisper model that transcribed it.")
    speakers_from: Literal["channels", "voices"]
    voices: VoiceSeparation | None = None
    cache_hit: bool = False


class Recognizer(Protocol):
    """A recording file in, its transcription out."""

    def asr_options(self, audio: AudioOptions) -> dict[str, Any]:
        """What shapes the transcript of any recording under these options (the cache key's part)."""
        ...

    def recognize(self, path: Path, audio: AudioOptions, progress: Progress | None) -> TranscriptionResult: ...


def channel_speaker(channel: int) -> str:
    """How a stereo channel's speaker is named before roles are known."""
    return f"Channel {channel}"


def limits_for(options: SpeechOptions) -> AudioLimits:
    return AudioLimits(
        max_bytes=int(options.max_audio_mb * 1_000_000),
        max_seconds=options.max_audio_seconds,
        max_channels=options.max_audio_channels,
    )


def cache_key(sha256: str, asr_options: dict[str, Any]) -> str:
    payload = {"audio": sha256, "asr": asr_options, "diarization": DIARIZATION_VERSION}
    return "transcript:" + hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def transcribe_recording(
    path: Path,
    recognizer: Recognizer,
    *,
    limits: AudioLimits,
    cache_dir: Path | None,
    options: AudioOptions | None = None,
    progress: Progress | None = None,
) -> TranscriptionResult:
    """The speaker-labelled transcript of a recording, from the cache (``cache_dir``) when this audio was seen
    before; checked against ``limits`` before anything decodes it."""
    options = options or AudioOptions()
    probed = probe(path, limits)
    cache = JsonCache(cache_dir) if options.use_cache and cache_dir is not None else None
    key = cache_key(probed.sha256, recognizer.asr_options(options))
    try:
        if cache is not None and (cached := cache.get_json(key)) is not None:
            try:
                return TranscriptionResult.model_validate(cached).model_copy(update={"cache_hit": True})
            except ValidationError:
                cache.delete(key)
        result = recognizer.recognize(path, options, progress)
        if cache is not None:
            cache.set_json(key, result.model_dump(mode="json"), tag=probed.sha256)  # evicted with the input
        return result
    finally:
        if cache is not None:
            cache.close()


def transcribe_samples(
    channels: np.ndarray,
    info: AudioInfo,
    warnings: list[Warning],
    transcriber: Transcriber,
    diarizer: Diarizer,
    progress: Progress | None,
) -> TranscriptionResult:
    """Decoded audio (channels x 16 kHz samples) -> the transcription, speakers by channel or by voice."""
    warnings = list(warnings)
    if channels.shape[0] == 2:
        if identical_channels(channels):
            warnings.append(
                Warning(code="audio.identical_channels", message="both channels carry the same audio: treated as mono")
            )
            channels = channels[:1]
        elif (silent := silent_channel(channels)) is not None:
            warnings.append(
                Warning(
                    code="audio.silent_channel",
                    message=f"channel {silent} is silent: treated as a mono recording of both parties",
                )
            )
            channels = channels[1 - silent : 2 - silent]
    model = transcriber.name
    if channels.shape[0] == 2:
        transcript = _by_channel(channels, transcriber, progress)
        return _result(transcript, info, warnings, model, "channels", None)
    transcript = transcriber.transcribe(
        channels[0], speaker=MONO_SPEAKER, progress=_scaled(progress, "transcribing", info.duration, 0, 1)
    )
    if not transcript.segments:
        return _result(transcript, info, warnings, model, "voices", None)
    if progress:
        progress("diarizing", 1.0)
    transcript, voices = _separate(channels[0], transcript, warnings, diarizer)
    return _result(transcript, info, warnings, model, "voices", voices)


def _by_channel(channels: np.ndarray, transcriber: Transcriber, progress: Progress | None) -> Transcript:
    duration = channels.shape[1] / SAMPLE_RATE
    parts = [
        transcriber.transcribe(
            channels[i],
            speaker=channel_speaker(i),
            channel=i,
            progress=_scaled(progress, "transcribing", duration, i, 2),
        )
        for i in (0, 1)
    ]
    merged = sorted((s for part in parts for s in part.segments), key=lambda s: (s.start or 0.0, s.channel or 0))
    spoken = max(parts, key=lambda p: sum(len(s.text) for s in p.segments))
    return spoken.model_copy(update={"segments": [s.model_copy(update={"id": i + 1}) for i, s in enumerate(merged)]})


def _separate(
    samples: np.ndarray, transcript: Transcript, warnings: list[Warning], diarizer: Diarizer
) -> tuple[Transcript, VoiceSeparation]:
    try:
        found = diarizer.diarize(samples)
    except ModelMissingError as exc:
        warnings.append(Warning(code="diarization.failed", message=f"{exc.message}; roles come from each segment"))
        return transcript, VoiceSeparation(separated=False, confidence=0.0, reason=exc.message)
    voices = VoiceSeparation(
        separated=found.separated,
        confidence=found.confidence,
        similarity=found.similarity,
        shares=found.shares,
        reason=found.reason,
    )
    if not found.separated:
        warnings.append(
            Warning(
                code="diarization.failed",
                message=f"could not tell two speakers apart ({found.reason}); roles come from each segment's words",
            )
        )
        return transcript, voices
    return label_speakers(transcript, found, VOICE_NAMES), voices


def _result(
    transcript: Transcript,
    info: AudioInfo,
    warnings: list[Warning],
    model: str,
    speakers_from: Literal["channels", "voices"],
    voices: VoiceSeparation | None,
) -> TranscriptionResult:
    if not transcript.segments:
        warnings.append(Warning(code="audio.no_speech", message="no speech was found in the recording"))
    transcript = transcript.model_copy(update={"duration": info.duration, "warnings": warnings})
    return TranscriptionResult(
        transcript=transcript, audio=info, model=model, speakers_from=speakers_from, voices=voices
    )


def _scaled(
    progress: Progress | None, stage: str, duration: float, index: int, passes: int
) -> Callable[[float], None] | None:
    """Pass ``index`` of ``passes`` over ``duration`` seconds, reported as a fraction of all of them."""
    if progress is None or duration <= 0:
        return None
    return lambda seconds: progress(stage, (index + min(seconds / duration, 1.0)) / passes)


def _speaker_at(spans: list[SpeakerSpan], start: float, end: float) -> int:
    """The speaker of the span that overlaps [start, end] most, or of the nearest span."""
    best, best_overlap, nearest, nearest_distance = 0, 0.0, 0, float("inf")
    for span in spans:
        overlap = min(end, span.end) - max(start, span.start)
        if overlap > best_overlap:
            best, best_overlap = span.speaker, overlap
        distance = max(span.start - end, start - span.end, 0.0)
        if distance < nearest_distance:
            nearest, nearest_distance = span.speaker, distance
    return best if best_overlap > 0 else nearest


def label_speakers(transcript: Transcript, diarization: Diarization, names: tuple[str, str]) -> Transcript:
    """Each word to the speaker talking then; segments split where the speaker changes."""
    segments: list[Segment] = []
    for segment in transcript.segments:
        words = segment.words or [Word(text=segment.text, start=segment.start or 0.0, end=segment.end or 0.0)]
        runs: list[tuple[int, list[Word]]] = []
        for word in words:
            speaker = _speaker_at(diarization.spans, word.start, max(word.end, word.start + 0.01))
            if runs and runs[-1][0] == speaker:
                runs[-1][1].append(word)
            else:
                runs.append((speaker, [word]))
        for speaker, run in runs:
            segments.append(
                Segment(
                    id=len(segments) + 1,
                    speaker=names[speaker],
                    start=run[0].start,
                    end=max(run[-1].end, run[0].start),
                    text=" ".join(w.text for w in run) if segment.words else segment.text,
                    words=run if segment.words else None,
                )
            )
    return transcript.model_copy(update={"segments": segments})
