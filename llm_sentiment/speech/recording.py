"""A call recording in, a speaker-labelled transcript out: validate, decode, transcribe, tell speakers apart.

Stereo (the contact-center standard: one party per channel) is transcribed channel by channel and
merged by time; a "stereo" file whose channels are identical, or with one silent channel, is a mono
recording and treated as one. Mono audio is transcribed once and its two voices separated by
``diarize``. The result is cached by the audio's content hash, the Whisper model and the options,
so analysing the same recording again never decodes or transcribes it again. Roles are assigned
after the cache (``recording_roles``), because they depend on ``--channels`` and on an optional LLM.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field, ValidationError

from llm_sentiment._util.native_host import Emit, Handler, NativeHost
from llm_sentiment.errors import ModelMissingError
from llm_sentiment.llm.cached import JsonCache
from llm_sentiment.roles.ask import RoleQuestion, diarized_roles
from llm_sentiment.roles.rules import channel_mapping, channel_speaker, parse_channels_spec, roles_by_segment
from llm_sentiment.settings import Settings
from llm_sentiment.transcript.model import Transcript, Warning

from .audio import SAMPLE_RATE, AudioInfo, AudioLimits, decode, identical_channels, probe, silent_channel
from .whisper import Transcriber

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


def limits_from(settings: Settings) -> AudioLimits:
    return AudioLimits(
        max_bytes=int(settings.max_audio_mb * 1_000_000),
        max_seconds=settings.max_audio_seconds,
        max_channels=settings.max_audio_channels,
    )


def _cache_key(sha256: str, transcriber: Transcriber) -> str:
    payload = {"audio": sha256, "asr": transcriber.options(), "diarization": DIARIZATION_VERSION}
    return "transcript:" + hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def transcribe_recording(
    path: Path, settings: Settings, options: AudioOptions | None = None, progress: Progress | None = None
) -> TranscriptionResult:
    """The speaker-labelled transcript of a recording, from the cache when this audio was seen before.

    Decoding and transcription (FFmpeg, onnxruntime, CTranslate2, torch) run in the speech host
    process, so a crash on a hostile recording fails this one recording, never the caller."""
    options = options or AudioOptions()
    probed = probe(path, limits_from(settings))
    transcriber = Transcriber(settings, options.model, options.language)
    cache = JsonCache(settings.transcript_cache_dir) if options.use_cache and settings.cache else None
    key = _cache_key(probed.sha256, transcriber)
    try:
        if cache is not None and (cached := cache.get_json(key)) is not None:
            try:
                return TranscriptionResult.model_validate(cached).model_copy(update={"cache_hit": True})
            except ValidationError:
                cache.delete(key)
        answer = _speech_host().call(
            "transcribe",
            {"path": str(path), "settings": settings.model_dump(mode="json"), "options": options.model_dump()},
            on_event=(lambda event: progress(str(event["stage"]), float(event["fraction"]))) if progress else None,
        )
        result = TranscriptionResult.model_validate(answer)
        if cache is not None:
            cache.set_json(key, result.model_dump(mode="json"), tag=probed.sha256)  # evicted with the input
        return result
    finally:
        if cache is not None:
            cache.close()


_HOST: NativeHost | None = None
_HOST_LOCK = threading.Lock()


def _speech_host() -> NativeHost:
    """One speech process per caller process: Whisper stays loaded in it between recordings."""
    global _HOST
    with _HOST_LOCK:
        if _HOST is None:
            _HOST = NativeHost(__name__, "speech (FFmpeg, Whisper)")
        return _HOST


def _transcribe_in_host(args: dict[str, Any], emit: Emit) -> dict[str, Any]:
    settings = Settings.model_validate(args["settings"])
    options = AudioOptions.model_validate(args["options"])
    path = Path(args["path"])
    limits = limits_from(settings)
    decoded = decode(path, probe(path, limits), limits)
    transcriber = Transcriber(settings, options.model, options.language)
    result = _transcribe(
        decoded.channels,
        decoded.info,
        decoded.warnings,
        transcriber,
        lambda stage, fraction: emit({"stage": stage, "fraction": fraction}),
    )
    return result.model_dump(mode="json")


def host_handlers() -> dict[str, Handler]:
    """What the speech host process serves (``native_host``)."""
    return {"transcribe": _transcribe_in_host}


def _transcribe(
    channels: np.ndarray,
    info: AudioInfo,
    warnings: list[Warning],
    transcriber: Transcriber,
    progress: Progress | None,
) -> TranscriptionResult:
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
    model = transcriber.ref.name
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
    transcript, voices = _separate(channels[0], transcript, warnings)
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
    samples: np.ndarray, transcript: Transcript, warnings: list[Warning]
) -> tuple[Transcript, VoiceSeparation]:
    from .diarize import diarize, label_speakers

    try:
        found = diarize(samples)
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


def recording_roles(
    result: TranscriptionResult, *, channels: str | None = None, question: RoleQuestion | None = None
) -> Transcript:
    """Roles by channel, by voice (with the LLM as a fallback when unclear), or per segment when voices blur."""
    transcript = result.transcript
    warnings = list(transcript.warnings)
    by_channel = parse_channels_spec(channels) if channels else None
    if result.speakers_from == "channels":
        mapping, found = channel_mapping(transcript, by_channel or ("agent", "customer"), given=by_channel is not None)
        return transcript.model_copy(update={"warnings": warnings + found}).with_roles(mapping)
    if channels:
        warnings.append(
            Warning(
                code="roles.channels_ignored",
                message="--channels ignored: the recording is mono; roles come from voices",
            )
        )
    transcript = transcript.model_copy(update={"warnings": warnings})
    if not transcript.segments:
        return transcript
    if result.voices is not None and result.voices.separated:
        return transcript.with_roles(diarized_roles(transcript, result.voices.confidence, question))
    return roles_by_segment(transcript)
