"""A whole call analyzed end to end with the embedded defaults: wall time as a fraction of call length,
and as a multiple of the floor the same run measures.

    .venv/bin/python bench/end_to_end.py CALL                 # a recording or a transcript
    .venv/bin/python bench/end_to_end.py --scripted 10        # a generated 10-minute timed transcript
    .venv/bin/python bench/end_to_end.py --scripted 10 --render stereo   # ... rendered to a stereo WAV first
    .venv/bin/python bench/end_to_end.py --scripted 10 --cold # also: every question with the KV cache reset
    .venv/bin/python bench/end_to_end.py --scripted 10 --compare 33ef3c0   # and a git ref's pipeline, same call

The floor: llama.cpp alone on the same machine and threads, in this run, doing the least any pipeline must
do: transcribe (as measured), read the call's shared prefix once (timed from an empty cache), and for every
question only its own question text and its answer tokens, at the prefill and decode speeds measured right
after that prefix (both fall as the context grows, so a short prompt's speeds would flatter the floor).
``ours / floor`` is how far the pipeline is from it. ``--compare`` runs the ref's own bench
script on the same call (in a throwaway git worktree) and prints the speed-up as a ratio.

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
from typing import Any, cast

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from llm_sentiment.analysis.analyzer import Analyzer
from llm_sentiment.analysis.result import Analysis
from llm_sentiment.ask.prompts import PromptSet
from llm_sentiment.evals.synth.scripted_calls import as_transcript, scripted_call
from llm_sentiment.llm.base import (
    LLMClient,
    LLMRequest,
    LLMResponse,
    SlotRequest,
    SlotResponse,
    SlotScoring,
    WrapperLLM,
)
from llm_sentiment.llm.fallback import FallbackLLM
from llm_sentiment.settings import Settings
from llm_sentiment.wiring import build_router, load_call

AUDIO_SUFFIXES = {".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a", ".webm"}
STAGES = ("transcription", "load", "segments", "notes", "roles", "summary")
SLOWEST = 5


class ColdLLM(WrapperLLM):
    """Resets every loaded llama.cpp context before each question: no prefix is ever reused."""

    def __init__(self, router: FallbackLLM) -> None:
        super().__init__(router)
        self.router = router

    def _reset(self) -> None:
        for model in self.router.local._models.values():
            model.reset()

    def complete(self, request: LLMRequest) -> LLMResponse:
        self._reset()
        return self.router.complete(request)

    def score_slots(self, request: SlotRequest) -> SlotResponse:
        self._reset()
        return cast(SlotScoring, self.router).score_slots(request)


class Recording(WrapperLLM):
    """Every request the analysis sends (questions and label-slot readings), kept to count what the floor
    must still read."""

    def __init__(self, inner: LLMClient) -> None:
        super().__init__(inner)
        self.requests: list[LLMRequest | SlotRequest] = []

    def complete(self, request: LLMRequest) -> LLMResponse:
        self.requests.append(request)
        return self.inner.complete(request)

    def score_slots(self, request: SlotRequest) -> SlotResponse:
        self.requests.append(request)
        return cast(SlotScoring, self.inner).score_slots(request)


def _speeds(settings: Settings, prefix: str, probe_tokens: int = 256, generated: int = 64) -> dict[str, float]:
    """llama.cpp alone, same model and threads, in this run, at the call's own depth: the seconds to read the
    call's shared prefix from an empty cache, then the prefill and decode speeds right after it (attention
    grows with the context, so both are slower there than on a short prompt)."""
    import numpy as np
    from llama_cpp import Llama

    from llm_sentiment.assets import ensure, get_asset

    name = settings.model.split("/", 1)[1]
    llm = Llama(
        model_path=str(ensure(get_asset(name), settings.models_dir)),
        n_ctx=settings.n_ctx,
        n_threads=settings.threads,
        n_threads_batch=settings.threads,
        n_batch=settings.n_batch,
        verbose=False,
    )
    tokens = llm.tokenize(prefix.encode(), add_bos=False, special=True)
    tokens = tokens[: max(0, settings.n_ctx - probe_tokens - generated - 8)]
    started = time.perf_counter()
    llm.eval(tokens)
    prefix_s = time.perf_counter() - started
    probe = llm.tokenize((" The customer called about a bill." * probe_tokens).encode(), add_bos=False)
    started = time.perf_counter()
    llm.eval(probe[:probe_tokens])
    prefill = probe_tokens / (time.perf_counter() - started)
    started = time.perf_counter()
    for _ in range(generated):  # greedy, one token per eval: what decoding an answer costs at this depth
        logits = np.ctypeslib.as_array(cast(Any, llm._ctx).get_logits(), shape=(llm.n_vocab(),))
        llm.eval([int(np.argmax(logits))])
    decode = generated / (time.perf_counter() - started)
    return {"prefix_s": prefix_s, "prefix_tokens": float(len(tokens)), "prefill": prefill, "decode": decode}


def _floor(
    requests: list[LLMRequest | SlotRequest],
    analysis: Analysis,
    stages: dict[str, float],
    speeds: dict[str, float],
    count: Any,
) -> dict[str, float]:
    """Seconds the least possible work takes: transcription as measured, the call's transcript read once (the
    shared system prefix, timed), and each question's own words (its text less any transcript lines it copies)
    and its answer tokens at the speeds measured right after that prefix."""
    texts = {s.text for s in analysis.segments} | {s.text for s in analysis.transcript.segments}
    question_tokens = 0
    for request in requests:
        words = request.messages[-1].content
        question_tokens += max(0, count(words) - sum(count(t) for t in texts if t in words))
    generated = sum(p.completion_tokens for p in analysis.provenance)
    return {
        "transcription": stages.get("transcription", 0.0),
        "prefix": speeds["prefix_s"],
        "questions": question_tokens / speeds["prefill"],
        "answers": generated / speeds["decode"],
        "prefix_tokens": speeds["prefix_tokens"],
        "question_tokens": question_tokens,
        "generated": generated,
    }


def _compare(ref: str, call: Path) -> float | None:
    """The wall time of ``ref``'s own bench on the same call (a temporary worktree of this repository)."""
    import re
    import subprocess

    work = Path(tempfile.mkdtemp(prefix="llm-bench-ref-"))
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(work / "ref"), ref], check=True)
    try:
        done = subprocess.run(
            [sys.executable, str(work / "ref" / "bench" / "end_to_end.py"), str(call)],
            capture_output=True,
            text=True,
            check=True,
            cwd=work / "ref",
            env={**__import__("os").environ, "PYTHONPATH": str(work / "ref")},
        )
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(work / "ref")], check=False)
    print(f"\n{ref}'s own bench on the same call:\n" + "\n".join("  " + line for line in done.stdout.splitlines()))
    found = re.search(r"wall\s+([\d.]+) s", done.stdout)
    return float(found.group(1)) if found else None


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


def _run(analyzer: Analyzer, path: Path, settings: Settings) -> tuple[Analysis, dict[str, float], float]:
    """``settings`` without caches: a recording is transcribed in this run and leaves no transcript behind for
    ``--compare``'s run of the same file."""
    started = time.perf_counter()
    transcript = load_call(path, settings=settings)
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
    parser.add_argument("--compare", metavar="REF", help="also run a git ref's pipeline (its own bench) on the call")
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

    recording = Recording(router)
    analysis, stages, wall = _run(Analyzer(recording, prompts, settings.analysis_options()), path, settings)
    length = analysis.timeline.duration if analysis.timeline else analysis.transcript.duration or 0.0
    turns = len(analysis.transcript.segments)
    print(f"call: {path} ({turns} turns), model: {settings.model}, threads: {settings.threads}")
    _report("shared prefix (default)", analysis, stages, wall, length)
    hosted = next(iter(router.local._models.values()))
    shared = max((r.messages[0].content for r in recording.requests), key=len)  # the system message with the transcript
    speeds = _speeds(settings, shared)
    floor = _floor(recording.requests, analysis, stages, speeds, hosted.count_tokens)
    floor_s = floor["transcription"] + floor["prefix"] + floor["questions"] + floor["answers"]
    print(
        f"\nfloor (llama.cpp alone here, after the call's prefix: prefill {speeds['prefill']:.1f} tok/s, "
        f"decode {speeds['decode']:.1f} tok/s)"
    )
    print(f"  transcription {floor['transcription']:7.1f} s (as measured)")
    print(f"  transcript    {floor['prefix']:7.1f} s ({floor['prefix_tokens']:.0f} tokens, read once, timed)")
    print(f"  questions     {floor['questions']:7.1f} s ({floor['question_tokens']:.0f} tokens, less copied lines)")
    print(f"  answers       {floor['answers']:7.1f} s ({floor['generated']:.0f} tokens generated)")
    print(f"  floor {floor_s:8.1f} s = {floor_s / length:.3f} x call length;  ours / floor = {wall / floor_s:.2f}")
    if args.compare:
        theirs = _compare(args.compare, path)
        if theirs:
            print(
                f"\n{args.compare} / ours: {theirs / wall:.2f}  ({theirs:.1f} s vs {wall:.1f} s, same call, same run)"
            )
    if args.cold:
        cold, cold_stages, cold_wall = _run(
            Analyzer(ColdLLM(router), prompts, settings.analysis_options()), path, settings
        )
        _report("cold: KV cache reset before every question", cold, cold_stages, cold_wall, length)
        llm_warm = sum(v for k, v in stages.items() if k not in ("load", "transcription"))
        llm_cold = sum(v for k, v in cold_stages.items() if k not in ("load", "transcription"))
        print(f"\nLLM stages, shared prefix / cold: {llm_warm / llm_cold:.3f}")


if __name__ == "__main__":
    main()
