"""What the recording pipeline is given: a transcriber (samples -> timed text) and a diarizer (who spoke when).

``recording.transcribe_samples`` orchestrates them (stereo channels, mono voices, silent channels)
without knowing what runs behind them: Whisper and Resemblyzer in production (``whisper``,
``diarize``), scripted doubles in tests (``testing``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
from pydantic import BaseModel, Field

from llm_sentiment.transcript.model import Transcript

Heard = Callable[[float], None]
"""Called with the seconds of audio transcribed so far."""


class Transcriber(Protocol):
    name: str
    """The model that transcribes, as results name it."""

    def options(self) -> dict[str, Any]:
        """Everything that shapes the text (it keys the transcript cache); never the device or threads."""
        ...

    def transcribe(
        self, samples: np.ndarray, *, speaker: str, channel: int | None = None, progress: Heard | None = None
    ) -> Transcript:
        """One channel of 16 kHz float32 audio -> segments attributed to ``speaker``."""
        ...


class SpeakerSpan(BaseModel):
    start: float
    end: float
    speaker: int = Field(ge=0, description="0 for whoever speaks first, 1 for the other.")


class Diarization(BaseModel):
    spans: list[SpeakerSpan]
    separated: bool
    confidence: float = Field(0.0, ge=0, le=1, description="How cleanly the voices separate.")
    similarity: float | None = Field(None, description="Cosine similarity of the two voices' centroids.")
    shares: list[float] = Field(default_factory=list, description="Each voice's share of the speech.")
    reason: str | None = Field(None, description="Why two speakers could not be told apart.")


class Diarizer(Protocol):
    def diarize(self, samples: np.ndarray) -> Diarization:
        """Two speakers in 16 kHz mono audio, numbered in order of first speech."""
        ...
