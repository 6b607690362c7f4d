"""`llm-sentiment analyze call.wav` for real: Whisper, the channel roles and the embedded LLM together."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from llm_sentiment.evals.synth.render_audio import render_call
from tests.conftest import scripted_call

pytestmark = pytest.mark.real_model


def test_analyze_a_stereo_recording_end_to_end(tmp_path: Path) -> None:
    call = render_call(scripted_call("cancel_gym"), tmp_path / "call.wav")
    env = {
        **os.environ,
        "LLM_SENTIMENT_CACHE_PATH": str(tmp_path / "llm"),
        "LLM_SENTIMENT_TRANSCRIPT_CACHE_PATH": str(tmp_path / "transcripts"),
    }
    cli = [sys.executable, "-m", "llm_sentiment", "analyze", str(call.path)]
    done = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=900, check=True)
    result = json.loads(done.stdout)
    assert result["transcript"]["source_format"] == "audio" and result["transcript"]["language"] == "en"
    assert result["role_mapping"]["source"] == "channel"
    assert result["role_mapping"]["speakers"] == {"Channel 0": "agent", "Channel 1": "customer"}
    behavior = result["behavioral"]
    assert behavior["duration_seconds"] == pytest.approx(call.duration, abs=0.01)
    assert 0.3 < behavior["agent_talk_ratio"] < 0.7 and 0.2 < behavior["customer_talk_ratio"] < 0.6
    assert behavior["interruption_count"] == 0
    assert not [w for w in result["warnings"] if w["code"].startswith(("audio.", "diarization.", "roles."))]
    segments = {s["id"]: s for s in result["transcript"]["segments"]}
    for role in ("agent", "customer"):
        for quote in result["roles"][role]["quotes"]:
            assert quote["role"] == role and quote["text"] in segments[quote["segment_id"]]["text"]
    again = subprocess.run([*cli, "--format", "text"], env=env, capture_output=True, text=True, timeout=120, check=True)
    assert "Roles: Channel 0 = agent, Channel 1 = customer (from channel" in again.stdout
    assert "Talk: agent" in again.stdout and "interruptions 0" in again.stdout
