"""Speech to timed text with faster-whisper, offline: one model load per process, typed output.

The model is an embedded one by name (``whisper-tiny.en``, the default; ``whisper-base``,
multilingual), assembled from its registry packages and sha256-verified, or any CTranslate2
Whisper directory by path. It runs int8 on CPU with an explicit thread count, or on CUDA when one
is available. Word timestamps and the VAD filter are on; every window is decoded independently
(``condition_on_previous_text=False``) so one hallucination cannot seed the next, and segments
Whisper itself rates as likely non-speech are dropped.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel

from llm_sentiment.assets import ASSETS, ensure, get_asset
from llm_sentiment.errors import ConfigError, ModelMissingError
from llm_sentiment.settings import SpeechOptions
from llm_sentiment.transcript.model import Segment, Transcript, Word

from .audio import SAMPLE_RATE
from .ports import Heard

PIPELINE_VERSION = "1"
"""Bumped whenever what a given model and options turn audio into changes (it keys the transcript cache)."""

_SPLIT_PAUSE_S = 1.0  # a pause this long inside one Whisper segment starts a new segment
_LOCK = threading.Lock()
_LOADED: dict[tuple[str, str, str, int], Any] = {}


class WhisperModelRef(BaseModel):
    name: str
    path: Path
    fingerprint: str
    """Identifies the weights: the pinned sha256 of an embedded model, or path + size + mtime of a directory."""


def resolve_model(name_or_dir: str, models_dir: Path) -> WhisperModelRef:
    """An embedded Whisper by name, assembled and verified on first use, or a CTranslate2 directory."""
    if name_or_dir in ASSETS and ASSETS[name_or_dir].kind == "ctranslate2":
        asset = get_asset(name_or_dir)
        return WhisperModelRef(name=asset.name, path=ensure(asset, models_dir), fingerprint=f"sha256:{asset.sha256}")
    directory = Path(name_or_dir).expanduser()
    weights = directory / "model.bin"
    if not weights.is_file():
        whispers = ", ".join(n for n, a in ASSETS.items() if a.kind == "ctranslate2")
        raise ModelMissingError(
            f"no Whisper model {name_or_dir!r}: not an embedded name, nor a directory with model.bin",
            hint=f"Embedded: {whispers}; or pass a CTranslate2 Whisper directory (ct2-transformers-converter).",
        )
    st, resolved = weights.stat(), directory.resolve()
    return WhisperModelRef(name=directory.name, path=resolved, fingerprint=f"{resolved}:{st.st_size}:{st.st_mtime_ns}")


def _device(requested: Literal["auto", "cpu", "cuda"]) -> tuple[str, str]:
    """(device, compute type): int8 on CPU; float16 on CUDA."""
    if requested == "cpu":
        return "cpu", "int8"
    import ctranslate2

    if ctranslate2.get_cuda_device_count() > 0:
        return "cuda", "float16"
    if requested == "cuda":
        raise ConfigError("LLM_SENTIMENT_WHISPER_DEVICE=cuda, but no CUDA device is available")
    return "cpu", "int8"


def load_whisper(ref: WhisperModelRef, device: str, compute_type: str, threads: int) -> Any:
    """The loaded model, shared by every caller in this process."""
    key = (str(ref.path), device, compute_type, threads)
    with _LOCK:
        if key not in _LOADED:
            try:
                from faster_whisper import WhisperModel
            except ImportError:
                raise ModelMissingError(
                    "audio needs faster-whisper, which is not installed",
                    hint="Install the audio extra: `pip install -e '.[audio]'` (or run `make setup`).",
                ) from None
            _LOADED[key] = WhisperModel(
                str(ref.path), device=device, compute_type=compute_type, cpu_threads=threads, local_files_only=True
            )
        return _LOADED[key]


class WhisperTranscriber:
    """``Transcriber`` over one configured Whisper: which model, on what, with which decoding options."""

    def __init__(self, options: SpeechOptions, model: str | None = None, language: str | None = None) -> None:
        self.ref = resolve_model(model or options.whisper_model, options.models_dir)
        self.name = self.ref.name
        self.requested_device = options.whisper_device
        self.threads = options.threads
        self.language = language or options.language
        self.beam_size = options.whisper_beam_size
        self.no_speech_threshold = options.no_speech_threshold

    def options(self) -> dict[str, Any]:
        """Everything that shapes the text, for the transcript cache key (never the device or threads)."""
        return {
            "model": self.ref.fingerprint,
            "language": self.language,
            "beam_size": self.beam_size,
            "no_speech_threshold": self.no_speech_threshold,
            "pipeline": PIPELINE_VERSION,
        }

    def whisper_kwargs(self) -> dict[str, Any]:
        """The options passed to ``WhisperModel.transcribe`` (the benchmark passes the same ones)."""
        return {
            "language": self.language,
            "beam_size": self.beam_size,
            "word_timestamps": True,
            "vad_filter": True,
            "condition_on_previous_text": False,
        }

    def model(self) -> Any:
        device, compute_type = _device(self.requested_device)  # asks CTranslate2: only where transcription runs
        whisper = load_whisper(self.ref, device, compute_type, self.threads)
        if self.language not in (None, "en") and not whisper.model.is_multilingual:
            raise ConfigError(
                f"{self.ref.name} is English-only; it cannot transcribe language {self.language!r}",
                hint="Use a multilingual model: --model whisper-base.",
            )
        return whisper

    def transcribe(
        self, samples: np.ndarray, *, speaker: str, channel: int | None = None, progress: Heard | None = None
    ) -> Transcript:
        """One channel of 16 kHz float32 audio → segments attributed to ``speaker``."""
        whisper = self.model()
        kwargs = self.whisper_kwargs()
        if kwargs["language"] is None and not whisper.model.is_multilingual:
            kwargs["language"] = "en"
        generated, info = whisper.transcribe(samples, **kwargs)
        segments = []
        for raw in _speech(generated, self.no_speech_threshold):
            segments.extend(_split(raw, speaker, channel))
            if progress:
                progress(raw.end)
        duration = samples.shape[-1] / SAMPLE_RATE
        if progress:
            progress(duration)
        numbered = [s.model_copy(update={"id": i + 1}) for i, s in enumerate(segments)]
        return Transcript(segments=numbered, language=info.language, duration=round(duration, 3), source_format="audio")


def _speech(generated: Iterable[Any], no_speech_threshold: float) -> Iterable[Any]:
    """Consumes Whisper's lazy generator, dropping what is likely not speech (hallucinated text on silence)."""
    for raw in generated:
        if raw.no_speech_prob > no_speech_threshold or not raw.text.strip():
            continue
        yield raw


def _split(raw: Any, speaker: str, channel: int | None) -> list[Segment]:
    """A Whisper segment cut at long pauses, timed by its words, so turns merge correctly across channels."""
    words = [w for w in raw.words or [] if w.word.strip()]
    if not words:
        return [Segment(id=1, speaker=speaker, start=raw.start, end=raw.end, text=raw.text.strip(), channel=channel)]
    groups: list[list[Any]] = [[words[0]]]
    for previous, word in pairwise(words):
        if word.start - previous.end >= _SPLIT_PAUSE_S:
            groups.append([])
        groups[-1].append(word)
    return [
        Segment(
            id=1,
            speaker=speaker,
            start=round(group[0].start, 3),
            end=round(max(group[-1].end, group[0].start), 3),
            text="".join(w.word for w in group).strip(),
            words=[_word(w) for w in group],
            channel=channel,
        )
        for group in groups
    ]


def _word(raw: Any) -> Word:
    return Word(
        text=raw.word.strip(), start=round(raw.start, 3), end=round(raw.end, 3), probability=round(raw.probability, 3)
    )
