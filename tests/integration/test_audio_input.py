"""Recordings are untrusted input: sniffed by content, limited, decoded defensively, errors specific."""

from __future__ import annotations

import struct
import subprocess
import tracemalloc
import wave
from pathlib import Path

import av
import numpy as np
import pytest
from click.testing import CliRunner

from llm_sentiment.cli import main
from llm_sentiment.errors import AudioTooLongError
from llm_sentiment.speech.audio import (
    AudioLimits,
    decode,
    identical_channels,
    probe,
    silent_channel,
)

RATE = 16000


def _tone(seconds: float, channels: int = 1, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    rows = [0.3 * np.sin(2 * np.pi * (220 + 110 * c) * t) for c in range(channels)]
    return np.array(rows, dtype=np.float32)


def _wav(path: Path, samples: np.ndarray, rate: int = RATE) -> Path:
    pcm = (np.clip(samples.T, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as f:
        f.setnchannels(samples.shape[0])
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(pcm.tobytes())
    return path


def _encode(path: Path, samples: np.ndarray, container: str, codec: str, rate: int = RATE, **options: str) -> Path:
    """Real encoders (PyAV's FFmpeg) write each allowed container (``options``: the muxer's)."""
    layout = "stereo" if samples.shape[0] == 2 else "mono"
    with av.open(str(path), "w", format=container, options=options) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.layout = layout
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout=layout)
        frame.sample_rate = RATE
        resampler = av.AudioResampler(format=stream.codec_context.format, layout=layout, rate=rate)
        for resampled in resampler.resample(frame) + resampler.resample(None):
            out.mux(stream.encode(resampled))
        out.mux(stream.encode(None))
    return path


def _transcribe(path: Path, *extra: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["transcribe", str(path), *extra], env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("name", "container", "codec", "rate", "expected"),
    [
        ("a.flac", "flac", "flac", 16000, "flac"),
        ("a.mp3", "mp3", "libmp3lame", 16000, "mp3"),
        ("a.opus", "ogg", "libopus", 48000, "ogg"),
        ("a.m4a", "ipod", "aac", 16000, "mp4"),
        ("a.webm", "webm", "libopus", 48000, "webm"),
        ("mislabelled.wav", "mp3", "libmp3lame", 16000, "mp3"),
    ],
)
def test_allowed_containers_sniffed_by_content(
    tmp_path: Path, name: str, container: str, codec: str, rate: int, expected: str
) -> None:
    path = _encode(tmp_path / name, _tone(2.0, channels=2), container, codec, rate)
    probed = probe(path, AudioLimits())
    assert probed.container == expected
    decoded = decode(path, probed, AudioLimits())
    assert decoded.channels.shape[0] == 2 and decoded.channels.dtype == np.float32
    assert decoded.info.duration == pytest.approx(2.0, abs=0.15)  # AAC keeps its encoder priming
    assert decoded.info.sample_rate == rate and not decoded.warnings


def test_wav_decodes_at_16k(tmp_path: Path) -> None:
    path = _wav(tmp_path / "a.wav", _tone(1.5, rate=8000), rate=8000)
    decoded = decode(path, probe(path, AudioLimits()), AudioLimits())
    assert decoded.channels.shape == (1, 24000) and decoded.info.container == "wav"


def _playlists(tmp_path: Path) -> list[tuple[str, bytes]]:
    target = _wav(tmp_path / "secret.wav", _tone(1.0))
    return [
        ("hls.mp3", f"#EXTM3U\n#EXT-X-VERSION:3\n#EXTINF:10,\nhttp://example.com/a.ts\n{target}\n".encode()),
        ("dash.wav", b'<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011"></MPD>'),
        ("concat.ogg", f"ffconcat version 1.0\nfile '{target}'\n".encode()),
        ("list.m4a", f"[playlist]\nFile1={target}\n".encode()),
    ]


def test_playlists_and_manifests_are_refused_unopened(tmp_path: Path) -> None:
    for name, content in _playlists(tmp_path):
        path = tmp_path / name
        path.write_bytes(content)
        status, stdout, stderr = _transcribe(path)
        assert (status, stdout) == (51, ""), name
        assert "error [audio.playlist]" in stderr and "never opened" in stderr


@pytest.mark.parametrize(
    ("name", "content", "code", "exit_code"),
    [
        ("empty.wav", b"", "input.empty", 11),
        ("image.wav", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64), "audio.unsupported_format", 50),
        ("notes.mp3", b"Agent: hello\nCustomer: hi\n", "audio.unsupported_format", 50),
        ("broken.wav", b"RIFF\x24\x00\x00\x00WAVEjunk" + bytes(range(256)) * 4, "audio.decode_failed", 55),
    ],
)
def test_bad_files_get_specific_errors(tmp_path: Path, name: str, content: bytes, code: str, exit_code: int) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    out = tmp_path / "out.json"
    status, stdout, stderr = _transcribe(path, "-o", str(out))
    assert status == exit_code and f"error [{code}]" in stderr and stdout == ""
    assert not out.exists()
    if code == "audio.unsupported_format":
        assert ("PNG" in stderr) == name.startswith("image")


def test_analyze_refuses_the_same_way(tmp_path: Path) -> None:
    path = tmp_path / "image.wav"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    result = CliRunner().invoke(main, ["analyze", str(path)], catch_exceptions=False)
    assert result.exit_code == 50 and "audio.unsupported_format" in result.stderr


def test_three_channels_refused(tmp_path: Path) -> None:
    path = _wav(tmp_path / "three.wav", _tone(1.0, channels=3))
    status, _, stderr = _transcribe(path)
    assert status == 54 and "error [audio.too_many_channels]" in stderr and "3 channels" in stderr


def test_size_limit_checked_before_reading(tmp_path: Path) -> None:
    path = _wav(tmp_path / "a.wav", _tone(1.0))
    status, _, stderr = _transcribe(path, env={"LLM_SENTIMENT_MAX_AUDIO_MB": "0.01"})
    assert status == 52 and "error [audio.too_large]" in stderr


@pytest.mark.timeout(60)
def test_duration_counted_while_decoding_with_bounded_memory(tmp_path: Path) -> None:
    """An hour of silence (a 100 kB FLAC) against a one-minute limit stops after a minute's worth."""
    path = tmp_path / "hour.flac"
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", str(path), "trim", "0", "1:00:00"], check=True)
    assert path.stat().st_size < 2_000_000
    limits = AudioLimits(max_seconds=60)
    tracemalloc.start()
    try:
        with pytest.raises(AudioTooLongError, match="counted while decoding"):
            decode(path, probe(path, limits), limits)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40_000_000, f"peak {peak / 1e6:.0f} MB: decoding must stop at the limit, not hold the hour"
    status, _, stderr = _transcribe(path, env={"LLM_SENTIMENT_MAX_AUDIO_SECONDS": "60"})
    assert status == 53 and "error [audio.too_long]" in stderr


def test_truncated_mp3_decodes_what_is_there_with_a_warning(tmp_path: Path) -> None:
    full = _encode(tmp_path / "full.mp3", _tone(10.0), "mp3", "libmp3lame")
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    decoded = decode(cut, probe(cut, AudioLimits()), AudioLimits())
    assert 3.0 < decoded.info.duration < 7.0
    assert [w.code for w in decoded.warnings] == ["audio.partial_decode"]
    assert "truncated" in decoded.warnings[0].message


@pytest.mark.parametrize(
    ("rate", "channels", "xing"), [(16000, 1, "1"), (16000, 1, "0"), (44100, 2, "1"), (44100, 2, "0")]
)
def test_a_20s_mp3_cut_to_a_third_warns_with_or_without_a_xing_header(
    tmp_path: Path, rate: int, channels: int, xing: str
) -> None:
    """Without a Xing/Info frame count the demuxer estimates the length from the file's size, so only
    the last frame, cut short, tells a truncated file from a complete one."""
    full = _encode(tmp_path / "full.mp3", _tone(20.0, channels), "mp3", "libmp3lame", rate, write_xing=xing)
    assert (b"Info" in full.read_bytes()[:2000]) == (xing == "1")
    complete = decode(full, probe(full, AudioLimits()), AudioLimits())
    assert complete.warnings == [] and complete.info.duration >= 20.0
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 3])
    decoded = decode(cut, probe(cut, AudioLimits()), AudioLimits())
    assert 6.0 < decoded.info.duration < 7.5
    assert [w.code for w in decoded.warnings] == ["audio.partial_decode"]
    assert "truncated" in decoded.warnings[0].message


def test_truncated_m4a_without_its_index_fails(tmp_path: Path) -> None:
    full = _encode(tmp_path / "full.m4a", _tone(4.0), "ipod", "aac")
    cut = tmp_path / "cut.m4a"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    status, _, stderr = _transcribe(cut)
    assert status == 55 and "error [audio.decode_failed]" in stderr


def _lying_wav(path: Path, seconds: float, declared: float) -> Path:
    pcm = (_tone(seconds)[0] * 32767).astype("<i2").tobytes()
    size = int(declared * RATE) * 2
    fmt = struct.pack("<HHIIHH", 1, 1, RATE, RATE * 2, 2, 16)
    header = b"RIFF" + struct.pack("<I", 36 + size) + b"WAVEfmt " + struct.pack("<I", 16) + fmt
    path.write_bytes(header + b"data" + struct.pack("<I", size) + pcm)
    return path


def test_wav_header_claiming_more_than_it_holds(tmp_path: Path) -> None:
    path = _lying_wav(tmp_path / "lies.wav", seconds=2.0, declared=60.0)
    decoded = decode(path, probe(path, AudioLimits()), AudioLimits())
    assert decoded.info.duration == pytest.approx(2.0, abs=0.05)
    assert [w.code for w in decoded.warnings] == ["audio.partial_decode"]
    assert "60.0 s" in decoded.warnings[0].message and "2.0 s" in decoded.warnings[0].message


def test_wav_header_claiming_less_than_it_holds(tmp_path: Path) -> None:
    path = _lying_wav(tmp_path / "lies.wav", seconds=5.0, declared=1.0)
    decoded = decode(path, probe(path, AudioLimits()), AudioLimits())
    assert [w.code for w in decoded.warnings] == ["audio.partial_decode"]
    assert "4.0 s more" in decoded.warnings[0].message


def test_mono_stored_as_stereo_and_a_silent_channel_are_recognised() -> None:
    voice = _tone(2.0)[0]
    assert identical_channels(np.stack([voice, voice]))
    assert identical_channels(np.stack([voice, voice + 1e-4]))
    assert not identical_channels(_tone(2.0, channels=2))
    assert silent_channel(np.stack([voice, np.zeros_like(voice)])) == 1
    assert silent_channel(np.stack([np.zeros_like(voice), voice])) == 0
    assert silent_channel(_tone(2.0, channels=2)) is None
