"""The test-audio renderer: real espeak-ng speech in two voices, on an exact timeline."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from llm_sentiment.analysis.behavior import behavioral
from llm_sentiment.evals.synth.render_audio import Turn, render_call
from llm_sentiment.transcript.model import Transcript


def _read(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as f:
        pcm = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2").astype(np.float32) / 32768
        return pcm.reshape(-1, f.getnchannels()).T, f.getframerate()


TURNS = [
    Turn(role="agent", text="Thank you for calling, how can I help?", gap_before=0.3),
    Turn(role="customer", text="My order never arrived.", gap_before=1.5),
    Turn(role="agent", text="Let me check that order for you right away.", gap_before=0.4),
    Turn(role="customer", text="It was placed two weeks ago.", gap_before=-0.8),
]


def test_stereo_timeline_is_exact(tmp_path: Path) -> None:
    call = render_call(TURNS, tmp_path / "call.wav")
    channels, rate = _read(call.path)
    assert channels.shape[0] == 2 and rate == 16000 and call.layout == "stereo"
    assert channels.shape[1] / rate == pytest.approx(call.duration)
    segments = call.segments
    assert [s.role for s in segments] == ["agent", "customer", "agent", "customer"]
    assert [s.channel for s in segments] == [0, 1, 0, 1]
    assert segments[0].start == pytest.approx(0.3)
    for previous, current, turn in zip(segments, segments[1:], TURNS[1:], strict=False):
        assert current.start == pytest.approx(previous.end + turn.gap_before, abs=1 / rate)
    for channel in (0, 1):  # each voice only on its own channel, and only inside its turns
        inside = np.zeros(channels.shape[1], dtype=bool)
        for seg in (s for s in segments if s.channel == channel):
            first, last = round(seg.start * rate), round(seg.end * rate) - 1
            assert channels[channel, first] != 0 and channels[channel, last] != 0
            assert channels[channel, first - 1] == 0 and channels[channel, last + 1] == 0
            inside[first : last + 1] = True
        assert not np.any(channels[channel, ~inside])
    gap = channels[:, round(segments[0].end * rate) + 1 : round(segments[1].start * rate) - 1]
    assert not np.any(gap), "the 1.5 s pause is digital silence on both channels"


def test_known_silence_and_overlap_in_the_metrics(tmp_path: Path) -> None:
    call = render_call(TURNS, tmp_path / "call.wav")
    truth = behavioral(Transcript(segments=call.segments, duration=call.duration), min_overlap=0.5)
    assert truth is not None
    # leading 0.3 + pauses 1.5 and 0.4 + the 0.5 s tail; the -0.8 turn overlaps instead
    assert truth.non_talk_time_seconds == pytest.approx(0.3 + 1.5 + 0.4 + 0.5, abs=0.002)
    assert (truth.customer.interruptions, truth.agent.interruptions) == (1, 0)
    assert truth.customer.interruption_seconds == pytest.approx(0.8, abs=0.002)
    assert truth.customer.average_response_time_seconds == pytest.approx((1.5 + 0) / 2, abs=0.002)


def test_mono_mixes_both_voices(tmp_path: Path) -> None:
    call = render_call(TURNS, tmp_path / "mono.wav", layout="mono", sample_rate=8000)
    channels, rate = _read(call.path)
    assert channels.shape[0] == 1 and rate == 8000
    assert all(s.channel is None for s in call.segments)
    overlap = channels[0, round(call.segments[3].start * rate) : round(call.segments[2].end * rate)]
    assert np.max(np.abs(overlap)) <= 1.0


def test_voices_differ_and_bad_scripts_are_refused(tmp_path: Path) -> None:
    same = render_call(TURNS[:1], tmp_path / "a.wav", layout="mono")
    other = render_call(TURNS[:1], tmp_path / "b.wav", layout="mono", agent_voice="en-us")
    assert same.segments[0].end != pytest.approx(other.segments[0].end, abs=0.01)
    with pytest.raises(ValueError, match="before the call"):
        render_call([Turn(role="agent", text="Hi.", gap_before=-1.0)], tmp_path / "c.wav")
    with pytest.raises(ValueError, match="at least one turn"):
        render_call([], tmp_path / "d.wav")
