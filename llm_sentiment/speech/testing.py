"""Speech doubles for tests of the recording pipeline's logic: no Whisper, no voice encoder.

``FakeTranscriber`` answers each channel with the segments scripted for it (or for any channel);
``FakeDiarizer`` says who spoke when, as scripted. Both record what they were asked.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from llm_sentiment.transcript.model import Segment, Transcript

from .audio import SAMPLE_RATE
from .ports import Diarization, Heard, SpeakerSpan


class FakeTranscriber:
    name = "fake-whisper"

    def __init__(self, by_channel: dict[int | None, list[tuple[float, float, str]]]) -> None:
        """``by_channel[channel]`` (``None``: a mono recording) is its (start, end, text) segments."""
        self.by_channel = by_channel
        self.calls: list[tuple[str, int | None, int]] = []

    def options(self) -> dict[str, Any]:
        return {"model": self.name}

    def transcribe(
        self, samples: np.ndarray, *, speaker: str, channel: int | None = None, progress: Heard | None = None
    ) -> Transcript:
        self.calls.append((speaker, channel, samples.shape[-1]))
        segments = [
            Segment(id=i + 1, speaker=speaker, channel=channel, start=start, end=end, text=text)
            for i, (start, end, text) in enumerate(self.by_channel.get(channel, []))
        ]
        duration = samples.shape[-1] / SAMPLE_RATE
        if progress:
            progress(duration)
        return Transcript(segments=segments, duration=round(duration, 3), source_format="audio")


class FakeDiarizer:
    def __init__(self, spans: list[tuple[float, float, int]], *, separated: bool = True, confidence: float = 0.8):
        self.result = Diarization(
            spans=[SpeakerSpan(start=s, end=e, speaker=k) for s, e, k in spans],
            separated=separated,
            confidence=confidence if separated else 0.0,
            reason=None if separated else "scripted: one voice",
        )
        self.calls = 0

    def diarize(self, samples: np.ndarray) -> Diarization:
        self.calls += 1
        return self.result
