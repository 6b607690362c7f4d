"""A whole call analyzed end to end with the embedded defaults: wall time as a fraction of call length.

    .venv/bin/python bench/end_to_end.py CALL                 # a recording or a transcript
    .venv/bin/python bench/end_to_end.py --scripted 10        # a generated 10-minute timed transcript
    .venv/bin/python bench/end_to_end.py --scripted 10 --render stereo   # ... rendered to a stereo WAV first
    .venv/bin/python bench/end_to_end.py --scripted 10 --cold # also: every question with the KV cache reset

Stages: transcription (recordings only; loading otherwise), per-segment scoring, the role questions
(label + evidence for customer, agent, call), the summary (summary, resolution, their support check,
recommendations), and window notes on calls longer than the context. Every question of a call shares one system
message, so llama.cpp keeps the transcript in its KV cache; ``--cold`` resets that cache before
every question and prints how much the shared prefix saves. The answer cache is always bypassed.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from llm_sentiment.analysis.analyzer import Analyzer
from llm_sentiment.analysis.result import Analysis
from llm_sentiment.ask.prompts import PromptSet
from llm_sentiment.evals.synth.scripted_calls import as_transcript, scripted_call
from llm_sentiment.llm.base import LLMRequest, LLMResponse
from llm_sentiment.llm.fallback import FallbackLLM
from llm_sentiment.settings import Settings
from llm_sentiment.wiring import build_router, load_call

AUDIO_SUFFIXES = {".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a", ".webm"}
STAGES = ("transcription", "load", "segments", "notes", "roles", "summary")
SLOWEST = 5


class ColdLLM:
    """Resets every loaded llama.cpp context before each question: no prefix is ever reused."""

    def __init__(self, router: FallbackLLM) -> None:
        self.router = router

    def complete(self, request: LLMRequest) -> LLMResponse:
        for model in self.router.local._models.values():
            model.reset()
        return self.router.complete(request)


def _scripted(minutes: float, workdir: Path) -> Path:
    lines = scripted_call(minutes, seed=7)
    path = workdir / f"scripted-{minutes:g}min.json"
    segments = [s.model_dump(include={"speaker", "start", "end", "text"}) for s in as_transcript(lines).segments]
    path.write_text(json.dumps({"language": "en", "segments": segments}))
    return path


def _rendered(minutes: float, layout: str, workdir: Path) -> Path:
    """The scripted call spoken by espeak-ng (agent and customer on their own channels in stereo)."""
    try:
        from llm_sentiment.evals.synth.render_audio import Turn, render_call
    except ImportError:
        sys.exit("--render needs llm_sentiment.evals.synth.render_audio; use --scripted alone for a transcript")
    lines = scripted_call(minutes, seed=7)
    turns = [Turn(role=line.role, text=line.text, gap_before=0.6) for line in lines]
    path = workdir / f"scripted-{minutes:g}min-{layout}.wav"
    rendered = render_call(turns, path, layout=layout)
    print(f"rendered {rendered.duration / 60:.1f} min of {layout} audio to {path}")
    return path


def _run(analyzer: Analyzer, path: Path) -> tuple[Analysis, dict[str, float], float]:
    started = time.perf_counter()
    transcript = load_call(path)
    loaded = time.perf_counter() - started
    analysis = analyzer.analyze(transcript)
    wall = time.perf_counter() - started
    stage = "transcription" if path.suffix.lower() in AUDIO_SUFFIXES else "load"
    return analysis, {stage: loaded, **analysis.timings}, wall


def _report(title: str, analysis: Analysis, stages: dict[str, float], wall: float, length: float) -> None:
    asked = len(analysis.provenance)
    prompt = sum(p.prompt_tokens for p in analysis.provenance)
    generated = sum(p.completion_tokens for p in analysis.provenance)
    print(f"\n{title}")
    print(f"  wall {wall:8.1f} s   = {wall / length:.3f} x call length ({length / 60:.1f} min)")
    for name in STAGES:
        if name in stages:
            print(f"  {name:<14}{stages[name]:8.1f} s   {stages[name] / wall:6.1%} of wall")
    other = wall - sum(stages.values())
    print(f"  {'other':<14}{other:8.1f} s   {other / wall:6.1%} of wall")
    print(f"  {asked} questions, {len(analysis.segments)} segments scored, {len(analysis.windows) or 1} window(s)")
    print(f"  tokens: {prompt} prompt (before KV-cache reuse), {generated} generated")
    slowest = sorted(analysis.provenance, key=lambda p: p.latency_s, reverse=True)[:SLOWEST]
    print(
        "  slowest questions: "
        + ", ".join(
            f"{p.question_id} {p.latency_s:.1f} s ({p.completion_tokens} tok, {p.asks} ask{'s' * (p.asks > 1)})"
            for p in slowest
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("call", type=Path, nargs="?", help="a recording or a transcript")
    parser.add_argument("--scripted", type=float, metavar="MINUTES", help="generate a timed call of this length")
    parser.add_argument("--render", choices=("stereo", "mono"), help="with --scripted: render it to audio first")
    parser.add_argument("--cold", action="store_true", help="also run with the KV cache reset before every question")
    args = parser.parse_args()
    if (args.call is None) == (args.scripted is None):
        parser.error("give a CALL or --scripted MINUTES")
    if args.render and args.scripted is None:
        parser.error("--render applies to --scripted")

    workdir = Path(tempfile.mkdtemp(prefix="llm-bench-e2e-"))
    if args.call is not None:
        path = args.call
    elif args.render:
        path = _rendered(args.scripted, args.render, workdir)
    else:
        path = _scripted(args.scripted, workdir)
    settings = Settings(cache=False)
    prompts = PromptSet(settings.prompts_dir, settings.prompts_version)
    router = build_router(settings)
    router.preload(settings.model)  # model loading is start-up, not per-call work

    analysis, stages, wall = _run(Analyzer(router, prompts, settings.analysis_options()), path)
    length = analysis.timeline.duration if analysis.timeline else analysis.transcript.duration or 0.0
    turns = len(analysis.transcript.segments)
    print(f"call: {path} ({turns} turns), model: {settings.model}, threads: {settings.threads}")
    _report("shared prefix (default)", analysis, stages, wall, length)
    if args.cold:
        cold, cold_stages, cold_wall = _run(Analyzer(ColdLLM(router), prompts, settings.analysis_options()), path)
        _report("cold: KV cache reset before every question", cold, cold_stages, cold_wall, length)
        llm_warm = sum(v for k, v in stages.items() if k not in ("load", "transcription"))
        llm_cold = sum(v for k, v in cold_stages.items() if k not in ("load", "transcription"))
        print(f"\nLLM stages, shared prefix / cold: {llm_warm / llm_cold:.3f}")


if __name__ == "__main__":
    main()
