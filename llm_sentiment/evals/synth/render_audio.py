"""Scripted calls rendered to speech (espeak-ng, two voices; sox resamples) with an exact timeline.

Tests and the eval harness use it to make real audio whose truth is known to the sample: each
turn's speech is trimmed of espeak's own leading and trailing silence, then placed at
``previous end + gap_before``, so silences and overlaps in the returned segments are exact.
Stereo puts the agent on channel 0 and the customer on channel 1; mono mixes both.

    python -m llm_sentiment.evals.synth.render_audio turns.json call.wav --layout mono
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, TypeAdapter

from llm_sentiment.transcript.model import Role, Segment

AGENT_VOICE = "en-us+steph"
CUSTOMER_VOICE = "en-us"
_WORDS_PER_MINUTE = 165
_SILENCE_LEVEL = 0.004  # below this (about -48 dBFS) a sample counts as espeak's padding
_PEAK = 0.5  # each turn's peak, so two overlapping turns mixed in mono never clip
_TAIL_S = 0.5  # silence after the last turn, as a recording has before it stops


class Turn(BaseModel):
    role: Role
    text: str
    gap_before: float = 0.4
    """Seconds of silence before this turn starts; negative = overlap with the previous turn."""


class RenderedCall(BaseModel):
    path: Path
    layout: Literal["stereo", "mono"]
    duration: float
    segments: list[Segment]
    """The true timeline: one segment per turn with role, speaker, start, end and text."""


def _require(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        raise RuntimeError(f"{tool} is not installed (apt-get install {tool}); it renders test calls")
    return found


def _speak(text: str, voice: str, sample_rate: int, workdir: Path, index: int) -> np.ndarray:
    """One turn as float32 samples at ``sample_rate``, trimmed to its speech."""
    raw, resampled = workdir / f"{index}.raw.wav", workdir / f"{index}.wav"
    # The text goes through stdin so that a line starting with "-" is never read as an option.
    subprocess.run(
        [_require("espeak-ng"), "-v", voice, "-s", str(_WORDS_PER_MINUTE), "-w", str(raw), "--stdin"],
        input=text.encode("utf-8"),
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [_require("sox"), str(raw), "-r", str(sample_rate), "-c", "1", "-b", "16", str(resampled)],
        check=True,
        capture_output=True,
    )
    with wave.open(str(resampled), "rb") as f:
        pcm = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2")
    samples = pcm.astype(np.float32) / 32768.0
    loud = np.flatnonzero(np.abs(samples) > _SILENCE_LEVEL)
    if loud.size == 0:
        raise ValueError(f"espeak-ng rendered no audible speech for {text!r}")
    speech = samples[loud[0] : loud[-1] + 1]
    return speech * (_PEAK / float(np.max(np.abs(speech))))


def _write_wav(path: Path, channels: np.ndarray, sample_rate: int) -> None:
    """``channels`` is (n_channels, n_samples) float in [-1, 1]; written as 16-bit PCM."""
    interleaved = np.clip(channels.T, -1.0, 1.0)
    pcm = np.round(interleaved * 32767).astype("<i2")
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as f:
        f.setnchannels(channels.shape[0])
        f.setsampwidth(2)
        f.setframerate(sample_rate)
        f.writeframes(pcm.tobytes())


def render_call(
    turns: list[Turn],
    path: Path,
    *,
    layout: Literal["stereo", "mono"] = "stereo",
    sample_rate: int = 16000,
    agent_voice: str = AGENT_VOICE,
    customer_voice: str = CUSTOMER_VOICE,
) -> RenderedCall:
    """Render ``turns`` into a WAV at ``path``; the returned segments are the exact timeline."""
    if not turns:
        raise ValueError("a call needs at least one turn")
    voices: dict[Role, str] = {"agent": agent_voice, "customer": customer_voice}
    placed: list[tuple[Turn, int, np.ndarray]] = []
    with tempfile.TemporaryDirectory(prefix="llm-sentiment-render-") as tmp:
        cursor = 0
        for index, turn in enumerate(turns):
            speech = _speak(turn.text, voices[turn.role], sample_rate, Path(tmp), index)
            start = cursor + round(turn.gap_before * sample_rate)
            if start < 0:
                raise ValueError(f"turn {index + 1} would start before the call does (gap_before {turn.gap_before})")
            placed.append((turn, start, speech))
            cursor = start + speech.size
    total = max(start + speech.size for _, start, speech in placed) + round(_TAIL_S * sample_rate)
    tracks = np.zeros((2, total), dtype=np.float32)
    segments = []
    for index, (turn, start, speech) in enumerate(placed):
        channel = 0 if turn.role == "agent" else 1
        tracks[channel, start : start + speech.size] += speech
        segments.append(
            Segment(
                id=index + 1,
                speaker=turn.role.title(),
                role=turn.role,
                start=start / sample_rate,
                end=(start + speech.size) / sample_rate,
                text=turn.text,
                channel=channel if layout == "stereo" else None,
            )
        )
    _write_wav(path, tracks if layout == "stereo" else tracks.sum(axis=0, keepdims=True), sample_rate)
    return RenderedCall(path=path, layout=layout, duration=total / sample_rate, segments=segments)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Render a scripted call (a JSON list of turns) to a WAV.")
    parser.add_argument("turns", type=Path, help='JSON: [{"role": "agent", "text": "...", "gap_before": 0.4}, ...]')
    parser.add_argument("output", type=Path)
    parser.add_argument("--layout", choices=["stereo", "mono"], default="stereo")
    parser.add_argument("--sample-rate", type=int, default=16000)
    args = parser.parse_args(argv)
    turns = TypeAdapter(list[Turn]).validate_json(args.turns.read_bytes())
    rendered = render_call(turns, args.output, layout=args.layout, sample_rate=args.sample_rate)
    print(json.dumps(rendered.model_dump(mode="json", exclude={"segments": {"__all__": {"words"}}}), indent=2))


if __name__ == "__main__":
    main()
