"""Our transcription stage against raw faster-whisper, and the whole `analyze` command's real-time factor.

1. One generated mono call (about a minute) is transcribed once by our stage (content sniffing,
   limits, decoding, Whisper, typed segments; no transcript cache) and once by raw
   ``WhisperModel.transcribe`` on the same file, with the same loaded model and the same options,
   consuming its generator. Both print audio seconds per wall second; the ratio of our time to
   raw time is the overhead (target <= 1.10).
2. A five-minute generated stereo call goes through `llm-sentiment transcribe` and `llm-sentiment
   analyze` as a user runs them (fresh caches), and their real-time factors are printed
   (wall seconds per audio second; below 1 is faster than real time).

    .venv/bin/python bench/transcribe_overhead.py [--skip-analyze]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from llm_sentiment.evals.synth.render_audio import Turn, render_call
from llm_sentiment.settings import Settings
from llm_sentiment.speech.audio import decode, probe
from llm_sentiment.speech.recording import limits_from
from llm_sentiment.speech.whisper import Transcriber

CALLS = json.loads((REPO / "tests" / "fixtures" / "scripted_calls.json").read_text(encoding="utf-8"))


def _script(seconds: float) -> list[Turn]:
    """Scripted calls back to back (about 2.7 words a second) until ``seconds`` of speech."""
    turns: list[Turn] = []
    words = 0.0
    while words / 2.7 < seconds:
        for script in CALLS.values():
            turns.extend(Turn.model_validate(t) for t in script)
            words += sum(len(t["text"].split()) for t in script)
            if words / 2.7 >= seconds:
                break
    return turns


def overhead(workdir: Path, settings: Settings) -> None:
    call = render_call(_script(55), workdir / "minute.wav", layout="mono")
    transcriber = Transcriber(settings)
    model = transcriber.model()
    kwargs = transcriber.whisper_kwargs()
    kwargs["language"] = kwargs["language"] or "en"
    warm = render_call(_script(3)[:1], workdir / "warm.wav", layout="mono")
    list(model.transcribe(str(warm.path), **kwargs)[0])  # loads the VAD session and warms the caches

    started = time.perf_counter()
    segments, _ = model.transcribe(str(call.path), **kwargs)
    raw_text = " ".join(s.text.strip() for s in segments)
    raw = time.perf_counter() - started

    started = time.perf_counter()
    limits = limits_from(settings)
    decoded = decode(call.path, probe(call.path, limits), limits)
    ours_text = " ".join(s.text for s in transcriber.transcribe(decoded.channels[0], speaker="Speaker").segments)
    ours = time.perf_counter() - started

    duration, beam = call.duration, kwargs["beam_size"]
    print(f"audio: {duration:.1f} s mono, {settings.whisper_model}, {settings.threads} threads, beam {beam}")
    print(f"raw WhisperModel.transcribe : {raw:6.2f} s  = {duration / raw:5.1f} audio s per wall s")
    print(f"our transcription stage     : {ours:6.2f} s  = {duration / ours:5.1f} audio s per wall s")
    print(f"ratio ours / raw            : {ours / raw:.3f}  (target <= 1.10)")
    print(f"same text: {raw_text == ours_text} ({len(raw_text.split())} vs {len(ours_text.split())} words)")


def _timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def real_time_factor(workdir: Path, analyze: bool) -> None:
    call = render_call(_script(320), workdir / "five_minutes.wav", layout="stereo")
    env = {
        **os.environ,
        "LLM_SENTIMENT_CACHE_PATH": str(workdir / "llm-cache"),
        "LLM_SENTIMENT_TRANSCRIPT_CACHE_PATH": str(workdir / "transcripts"),
        "HF_HUB_OFFLINE": "1",
    }
    cli = str(Path(sys.executable).with_name("llm-sentiment"))
    print(f"\nfive-minute stereo call: {call.duration:.1f} s, {len(call.segments)} turns")
    transcribe = _timed([cli, "transcribe", str(call.path), "--no-cache"], env)
    print(f"llm-sentiment transcribe    : {transcribe:7.1f} s  real-time factor {transcribe / call.duration:.3f}")
    if analyze:
        total = _timed([cli, "analyze", str(call.path), "--no-cache"], env)
        print(f"llm-sentiment analyze       : {total:7.1f} s  real-time factor {total / call.duration:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-analyze", action="store_true", help="time only transcription of the 5-minute call")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="transcribe-bench-") as tmp:
        overhead(Path(tmp), Settings())
        real_time_factor(Path(tmp), analyze=not args.skip_analyze)


if __name__ == "__main__":
    main()
