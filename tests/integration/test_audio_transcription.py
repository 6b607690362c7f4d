"""Real recordings end to end: espeak-ng calls, Whisper tiny.en, Resemblyzer voices, metrics vs the truth."""

from __future__ import annotations

import json
import re
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from llm_sentiment.analysis.analyzer import Analyzer
from llm_sentiment.analysis.behavior import behavioral
from llm_sentiment.ask.prompts import PromptSet
from llm_sentiment.cli import main
from llm_sentiment.errors import ConfigError, ModelMissingError
from llm_sentiment.evals.synth.render_audio import RenderedCall, render_call
from llm_sentiment.llm.testing import FakeLLM
from llm_sentiment.roles.recording import recording_roles
from llm_sentiment.settings import Settings
from llm_sentiment.speech.recording import AudioOptions, TranscriptionResult
from llm_sentiment.speech.whisper import WhisperTranscriber, resolve_model
from llm_sentiment.transcript.model import Transcript
from llm_sentiment.wiring import load_call, transcribe_call
from tests.conftest import scripted_call


def _words(transcript: Transcript, role: str) -> str:
    return " ".join(s.text.lower() for s in transcript.segments if s.role == role)


def _truth(call: RenderedCall) -> Any:
    return behavioral(Transcript(segments=call.segments, duration=call.duration))


@pytest.fixture(scope="module")
def stereo(tmp_path_factory: pytest.TempPathFactory, audio_settings: Settings) -> tuple[RenderedCall, Any]:
    call = render_call(scripted_call("card_dispute"), tmp_path_factory.mktemp("stereo") / "call.wav")
    return call, transcribe_call(call.path, settings=audio_settings)


@pytest.fixture(scope="module")
def mono(tmp_path_factory: pytest.TempPathFactory, audio_settings: Settings) -> tuple[RenderedCall, Any]:
    call = render_call(scripted_call("internet_outage"), tmp_path_factory.mktemp("mono") / "call.wav", layout="mono")
    return call, transcribe_call(call.path, settings=audio_settings)


def test_stereo_roles_from_channels_and_words_per_role(stereo: tuple[RenderedCall, Any]) -> None:
    _, result = stereo
    t = result.transcript
    assert result.speakers_from == "channels" and t.language == "en" and not t.warnings
    assert t.role_mapping.source == "channel" and t.role_mapping.speakers == {
        "Channel 0": "agent",
        "Channel 1": "customer",
    }
    assert [s.start for s in t.segments] == sorted(s.start for s in t.segments)
    assert all(s.channel == (0 if s.role == "agent" else 1) for s in t.segments)
    agent, customer = _words(t, "agent"), _words(t, "customer")
    assert "thank you for calling" in agent and "account number" in agent and "refund" in agent
    assert "charge" in customer and "never been" in customer and "thanks a lot" in customer
    assert "account number" not in customer and "never been" not in agent


def test_stereo_metrics_match_the_known_timeline(stereo: tuple[RenderedCall, Any]) -> None:
    call, result = stereo
    truth, got = _truth(call), behavioral(result.transcript)
    assert truth is not None and got is not None
    # the script: a 2.0 s pause before the account number, the customer cutting in 1.0 s early
    assert (truth.customer.interruptions, truth.agent.interruptions) == (1, 0)
    assert truth.customer.interruption_seconds == pytest.approx(1.0, abs=0.002)
    assert (got.customer.interruptions, got.agent.interruptions) == (1, 0)
    assert got.customer.interruption_seconds == pytest.approx(1.0, abs=0.4)
    assert got.duration_seconds == pytest.approx(truth.duration_seconds, abs=0.01)
    for ratio in ("agent_talk_ratio", "customer_talk_ratio", "silence_ratio"):
        assert getattr(got, ratio) == pytest.approx(getattr(truth, ratio), abs=0.05), ratio
    assert got.average_response_time_seconds == pytest.approx(truth.average_response_time_seconds, abs=0.35)
    assert got.agent.longest_monologue_seconds == pytest.approx(truth.agent.longest_monologue_seconds, abs=1.0)
    assert got.customer.words_per_minute == pytest.approx(truth.customer.words_per_minute, rel=0.2)


def test_channels_option_maps_roles(stereo: tuple[RenderedCall, Any]) -> None:
    _, result = stereo
    swapped = recording_roles(result, channels="customer,agent")
    assert swapped.role_mapping is not None and swapped.role_mapping.confidence == 1.0
    assert swapped.role_mapping.speakers == {"Channel 0": "customer", "Channel 1": "agent"}
    assert "thank you for calling" in _words(swapped, "customer")


def test_the_transcript_cache_never_transcribes_twice(
    stereo: tuple[RenderedCall, Any], audio_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    call, first = stereo
    assert not first.cache_hit

    class Untouchable:
        def call(self, *_args: Any, **_kwargs: Any) -> Any:
            raise AssertionError("transcribed again")

    monkeypatch.setattr("llm_sentiment.speech.host._speech_process", Untouchable)
    again = transcribe_call(call.path, settings=audio_settings)
    assert again.cache_hit and again.transcript == first.transcript
    with pytest.raises(AssertionError, match="transcribed again"):
        transcribe_call(call.path, settings=audio_settings, audio=AudioOptions(use_cache=False))


def test_mono_voices_separate_and_the_greeter_is_the_agent(mono: tuple[RenderedCall, Any]) -> None:
    call, result = mono
    t = result.transcript
    assert result.speakers_from == "voices" and result.voices.separated and not t.warnings
    mapping = t.role_mapping
    assert mapping.source == "diarization" and mapping.confidence >= 0.6
    # the customer speaks first ("Hello?"), the agent greets for the company
    assert mapping.speakers == {"Speaker 1": "customer", "Speaker 2": "agent"}
    assert "northwind" in _words(t, "agent").replace(" ", "") or "support" in _words(t, "agent")
    assert "frustrating" in _words(t, "customer") and "credit" in _words(t, "agent")
    correct = total = 0
    for segment in t.segments:
        for word in segment.words or []:
            middle = (word.start + word.end) / 2
            true_roles = {s.role for s in call.segments if s.start - 0.15 <= middle <= s.end + 0.15}
            if len(true_roles) == 1:
                total += 1
                correct += segment.role in true_roles
    assert total > 80 and correct / total >= 0.95


def test_mono_metrics_match_the_known_timeline(mono: tuple[RenderedCall, Any]) -> None:
    call, result = mono
    truth, got = _truth(call), behavioral(result.transcript)
    assert truth is not None and got is not None
    assert got.interruption_count == truth.interruption_count == 0
    for ratio in ("agent_talk_ratio", "customer_talk_ratio", "silence_ratio"):
        assert getattr(got, ratio) == pytest.approx(getattr(truth, ratio), abs=0.06), ratio
    assert got.average_response_time_seconds == pytest.approx(truth.average_response_time_seconds, abs=0.3)


def _stereo_copy(source: Path, target: Path, other: np.ndarray | None = None) -> Path:
    with wave.open(str(source), "rb") as f:
        rate, pcm = f.getframerate(), np.frombuffer(f.readframes(f.getnframes()), dtype="<i2")
    right = pcm if other is None else other.astype("<i2")
    with wave.open(str(target), "wb") as f:
        f.setnchannels(2)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(np.stack([pcm, right], axis=1).tobytes())
    return target


def test_mono_stored_as_stereo_is_treated_as_mono(tmp_path: Path, audio_settings: Settings) -> None:
    call = render_call(scripted_call("cancel_gym"), tmp_path / "mono.wav", layout="mono")
    result = transcribe_call(_stereo_copy(call.path, tmp_path / "dual.wav"), settings=audio_settings)
    assert [w.code for w in result.transcript.warnings] == ["audio.identical_channels"]
    assert result.speakers_from == "voices" and result.transcript.role_mapping.source == "diarization"
    assert "cancel" in _words(result.transcript, "customer") and "calling" in _words(result.transcript, "agent")


def test_one_voice_cannot_be_split_and_roles_fall_back_per_segment(tmp_path: Path, audio_settings: Settings) -> None:
    same = render_call(
        scripted_call("cancel_gym"), tmp_path / "same.wav", layout="mono", agent_voice="en-us", customer_voice="en-us"
    )
    result = transcribe_call(same.path, settings=audio_settings)
    t = result.transcript
    assert not result.voices.separated
    assert [w.code for w in t.warnings] == ["diarization.failed"] and "tell two speakers apart" in t.warnings[0].message
    mapping = t.role_mapping
    assert mapping.source == "inference" and mapping.confidence < 0.6
    assert set(mapping.speakers.values()) <= {"agent", "customer"} and len(set(mapping.speakers.values())) == len(
        mapping.speakers
    ), "never two speakers with one role"
    greeting = next(s for s in t.segments if "calling" in s.text.lower())
    assert greeting.role == "agent" and greeting.speaker == "Agent (inferred)"
    assert any(s.role is None and s.speaker == "Unknown speaker" for s in t.segments)


def test_pure_silence(tmp_path: Path, audio_settings: Settings) -> None:
    path = tmp_path / "silence.wav"
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(16000)
        f.writeframes(bytes(16000 * 2 * 8))
    result = transcribe_call(path, settings=audio_settings)
    assert result.transcript.segments == [] and [w.code for w in result.transcript.warnings] == ["audio.no_speech"]
    env = {"LLM_SENTIMENT_TRANSCRIPT_CACHE_PATH": str(audio_settings.transcript_cache_dir)}
    outcome = CliRunner().invoke(main, ["analyze", str(path)], env=env, catch_exceptions=False)
    assert outcome.exit_code == 56 and "error [audio.no_speech]" in outcome.stderr


def test_cli_transcribe_formats(stereo: tuple[RenderedCall, Any], audio_settings: Settings) -> None:
    call, _ = stereo
    env = {"LLM_SENTIMENT_TRANSCRIPT_CACHE_PATH": str(audio_settings.transcript_cache_dir)}

    def run(*args: str) -> str:
        outcome = CliRunner().invoke(main, ["transcribe", str(call.path), *args], env=env, catch_exceptions=False)
        assert outcome.exit_code == 0, outcome.stderr
        return outcome.stdout

    parsed = TranscriptionResult.model_validate_json(run("--format", "json"))
    assert parsed.cache_hit and parsed.audio.channels == 2 and parsed.audio.container == "wav"
    text = run("--format", "text")
    assert "roles from channel" in text and re.search(r"\[00:0\d\.\d - 00:0\d\.\d\] Agent \(Channel 0\): ", text)
    srt = run("--format", "srt")
    assert srt.startswith("1\n00:00:00,") and "\nCustomer: " in srt
    vtt = run("--format", "vtt", "--channels", "customer,agent")
    assert vtt.startswith("WEBVTT\n") and "<v Customer>Thank you for calling" in vtt
    info = CliRunner().invoke(main, ["cache", "info"], env=env, catch_exceptions=False).stdout
    assert re.search(rf"{re.escape(str(audio_settings.transcript_cache_dir))}: [1-9]\d* transcripts", info)


def test_analysis_of_a_recording_carries_behavior_and_roles(
    stereo: tuple[RenderedCall, Any], audio_settings: Settings
) -> None:
    call, _ = stereo
    transcript = load_call(call.path, settings=audio_settings)
    fake = FakeLLM()
    roles = ("customer", "agent", "customer")  # customer, agent, then the call as a whole
    for _ in roles:  # the labels come first, then their evidence
        fake.enqueue(
            {"label": "neutral", "confidence": 0.7}, label_probs={"neutral": 0.7, "positive": 0.2, "negative": 0.1}
        )
    for role in roles:
        said = next(s.text for s in transcript.segments if s.role == role)
        fake.enqueue({"quotes": [said], "reasoning": "Calm throughout."})
    prompts = PromptSet(audio_settings.prompts_dir, audio_settings.prompts_version)
    analysis = Analyzer(fake, prompts, audio_settings.analysis_options()).analyze(transcript, parts=())
    assert analysis.behavioral is not None and analysis.behavioral.customer.interruptions == 1
    assert analysis.role_mapping.source == "channel" and analysis.transcript.source_format == "audio"
    assert any("[1] AGENT: Thank you for calling" in r.messages[0].content for r in fake.requests)
    body = json.loads(analysis.model_dump_json())
    assert body["behavioral"]["agent_talk_ratio"] > 0 and body["role_mapping"]["speakers"]["Channel 1"] == "customer"


def test_models_by_name_or_directory(audio_settings: Settings, tmp_path: Path) -> None:
    base = resolve_model("whisper-base", audio_settings.models_dir)
    assert (base.path / "model.bin").is_file() and base.fingerprint.startswith("sha256:")
    tiny = resolve_model("whisper-tiny.en", audio_settings.models_dir)
    by_dir = resolve_model(str(tiny.path), audio_settings.models_dir)
    assert by_dir.path == tiny.path and by_dir.fingerprint != tiny.fingerprint
    with pytest.raises(ModelMissingError, match="nor a directory"):
        resolve_model(str(tmp_path), audio_settings.models_dir)
    with pytest.raises(ConfigError, match="English-only"):
        WhisperTranscriber(audio_settings.speech_options(), "whisper-tiny.en", language="de").model()


def test_multilingual_base_model_detects_the_language(tmp_path: Path, audio_settings: Settings) -> None:
    call = render_call(scripted_call("cancel_gym")[:2], tmp_path / "short.wav", layout="mono")
    transcriber = WhisperTranscriber(audio_settings.speech_options(), "whisper-base")
    seen: list[float] = []
    with wave.open(str(call.path), "rb") as f:
        samples = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2").astype(np.float32) / 32768
    transcript = transcriber.transcribe(samples, speaker="Speaker", progress=seen.append)
    assert transcript.language == "en" and "cancel" in " ".join(s.text.lower() for s in transcript.segments)
    assert seen == sorted(seen) and seen[-1] == pytest.approx(call.duration, abs=0.01)
