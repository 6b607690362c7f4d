"""The recording pipeline's orchestration with speech doubles: stereo channels, identical or silent channels,
mono voices. No Whisper, no voice encoder, no audio files: decoded samples are arrays made here."""

from __future__ import annotations

import numpy as np

from llm_sentiment.speech.audio import SAMPLE_RATE, AudioInfo
from llm_sentiment.speech.recording import transcribe_samples
from llm_sentiment.speech.testing import FakeDiarizer, FakeTranscriber

SECONDS = 4


def _info(channels: int) -> AudioInfo:
    return AudioInfo(
        container="wav", codec="pcm_s16le", channels=channels, sample_rate=8000, duration=SECONDS,
        size_bytes=1, sha256="0",
    )  # fmt: skip


def _noise(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 0.1, SECONDS * SAMPLE_RATE).astype(np.float32)


def test_stereo_is_transcribed_per_channel_and_merged_by_time() -> None:
    transcriber = FakeTranscriber({0: [(0.0, 1.0, "Acme, how can I help?"), (2.5, 3.0, "Done.")],
                                   1: [(1.2, 2.2, "My bill is wrong.")]})  # fmt: skip
    result = transcribe_samples(np.stack([_noise(1), _noise(2)]), _info(2), [], transcriber, FakeDiarizer([]), None)
    assert result.speakers_from == "channels" and result.voices is None
    segments = result.transcript.segments
    assert [(s.id, s.speaker, s.text) for s in segments] == [
        (1, "Channel 0", "Acme, how can I help?"),
        (2, "Channel 1", "My bill is wrong."),
        (3, "Channel 0", "Done."),
    ]
    assert [c[1] for c in transcriber.calls] == [0, 1] and result.model == "fake-whisper"


def test_identical_channels_are_one_mono_recording() -> None:
    same = _noise(3)
    transcriber = FakeTranscriber({None: [(0.0, 1.0, "Hello there, Acme support."), (1.5, 3.5, "Hi, my bill.")]})
    diarizer = FakeDiarizer([(0.0, 1.2, 0), (1.4, 3.6, 1)])
    result = transcribe_samples(np.stack([same, same]), _info(2), [], transcriber, diarizer, None)
    assert [w.code for w in result.transcript.warnings] == ["audio.identical_channels"]
    assert result.speakers_from == "voices" and diarizer.calls == 1
    assert [s.speaker for s in result.transcript.segments] == ["Speaker 1", "Speaker 2"]


def test_a_silent_channel_leaves_the_other_as_a_mono_recording() -> None:
    transcriber = FakeTranscriber({None: [(0.0, 1.0, "Anyone there?")]})
    silent = np.zeros(SECONDS * SAMPLE_RATE, dtype=np.float32)
    result = transcribe_samples(np.stack([_noise(4), silent]), _info(2), [], transcriber, FakeDiarizer([]), None)
    assert "audio.silent_channel" in [w.code for w in result.transcript.warnings]
    assert result.speakers_from == "voices"


def test_voices_that_cannot_be_told_apart_are_said_so_and_not_invented() -> None:
    transcriber = FakeTranscriber({None: [(0.0, 2.0, "Thanks for calling."), (2.2, 3.5, "Sure.")]})
    diarizer = FakeDiarizer([(0.0, 3.5, 0)], separated=False)
    progress: list[tuple[str, float]] = []
    result = transcribe_samples(
        _noise(5)[None, :], _info(1), [], transcriber, diarizer, lambda s, f: progress.append((s, f))
    )
    assert result.voices is not None and not result.voices.separated
    assert "diarization.failed" in [w.code for w in result.transcript.warnings]
    assert {s.speaker for s in result.transcript.segments} == {"Speaker"}, "one speaker, not a second invented one"
    assert progress[-1] == ("diarizing", 1.0)
