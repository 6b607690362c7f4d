"""Recordings decoded and transcribed in the speech process: FFmpeg, onnxruntime (VAD), CTranslate2
(Whisper) or torch (the voice encoder) crashing on a hostile recording fails that recording, never
the caller. One speech process per caller process, so Whisper stays loaded between recordings.

This module is both sides of that boundary: ``IsolatedRecognizer`` (the caller's ``Recognizer``) and
``host_handlers`` (what the speech process serves), and so the composition root of the process that
runs Whisper and the diarizer.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from llm_sentiment._util.native_host import Emit, Handler, NativeHost
from llm_sentiment.settings import SpeechOptions

from .audio import decode, probe
from .diarize import VoiceDiarizer
from .recording import AudioOptions, Progress, TranscriptionResult, limits_for, transcribe_samples
from .whisper import WhisperTranscriber

_HOST: NativeHost | None = None
_HOST_LOCK = threading.Lock()


def _speech_process() -> NativeHost:
    global _HOST
    with _HOST_LOCK:
        if _HOST is None:
            _HOST = NativeHost(__name__, "speech (FFmpeg, Whisper)")
        return _HOST


class IsolatedRecognizer:
    """``Recognizer`` whose decoding and transcription run in the speech process."""

    def __init__(self, options: SpeechOptions) -> None:
        self.options = options

    def asr_options(self, audio: AudioOptions) -> dict[str, Any]:
        return WhisperTranscriber(self.options, audio.model, audio.language).options()

    def recognize(self, path: Path, audio: AudioOptions, progress: Progress | None) -> TranscriptionResult:
        answer = _speech_process().call(
            "transcribe",
            {"path": str(path), "speech": self.options.model_dump(mode="json"), "audio": audio.model_dump()},
            on_event=(lambda event: progress(str(event["stage"]), float(event["fraction"]))) if progress else None,
        )
        return TranscriptionResult.model_validate(answer)


def _transcribe(args: dict[str, Any], emit: Emit) -> dict[str, Any]:
    options = SpeechOptions.model_validate(args["speech"])
    audio = AudioOptions.model_validate(args["audio"])
    path = Path(args["path"])
    limits = limits_for(options)
    decoded = decode(path, probe(path, limits), limits)
    result = transcribe_samples(
        decoded.channels,
        decoded.info,
        decoded.warnings,
        WhisperTranscriber(options, audio.model, audio.language),
        VoiceDiarizer(),
        lambda stage, fraction: emit({"stage": stage, "fraction": fraction}),
    )
    return result.model_dump(mode="json")


def host_handlers() -> dict[str, Handler]:
    """What the speech process serves (``native_host``)."""
    return {"transcribe": _transcribe}
