"""Run every configuration over the selected calls through the real pipeline, and score each call.

Each call's transcript is written to ``<output>/transcripts/<id>.txt`` and loaded with
``pipeline.load_call``, exactly as ``llm-sentiment analyze`` would load it (so a disagreement can
be re-run by hand). LLM configurations go through ``build_llm`` (with the answer cache: an
interrupted run resumes where it stopped) and ``build_analyzer``; the VADER row reads the same
loaded transcripts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from pydantic import BaseModel

from llm_sentiment._util.fileio import write_atomic
from llm_sentiment.analysis.analyzer import ANALYSIS_PARTS, AnalysisPart, Analyzer
from llm_sentiment.ask.calibration import Band
from llm_sentiment.errors import InvalidAnswerError, LLMSentimentError, SetupError
from llm_sentiment.evals.audio import render
from llm_sentiment.evals.baseline import BASELINE_ID, Polarity, score_baseline
from llm_sentiment.evals.cases import (
    BAND_KEYS,
    TARGETS,
    BandKey,
    CaseError,
    CaseResult,
    ProbeKey,
    QuestionRecord,
    Source,
    TargetKey,
    empty_case,
    score_analysis,
    score_segments,
)
from llm_sentiment.evals.dataset import EvalCall
from llm_sentiment.llm.base import LLMClient
from llm_sentiment.llm.cached import ResponseCache
from llm_sentiment.settings import Settings
from llm_sentiment.transcript.model import Transcript
from llm_sentiment.wiring import build_analyzer, build_llm, load_call


class EvalConfig(BaseModel):
    """One row of the results matrix: a prompt version on a model, or the lexicon baseline."""

    kind: Literal["llm", "baseline"]
    prompts: str | None = None
    model: str | None = None

    @property
    def id(self) -> str:
        return BASELINE_ID if self.kind == "baseline" else f"{self.prompts}@{self.model}"


def matrix(prompts: Sequence[str], models: Sequence[str], *, baseline: bool = True) -> list[EvalConfig]:
    rows = [EvalConfig(kind="baseline")] if baseline else []
    return rows + [EvalConfig(kind="llm", prompts=p, model=m) for p in prompts for m in models]


BuildLLM = Callable[..., tuple[LLMClient, ResponseCache | None]]
"""``wiring.build_llm``'s shape: the CLI hands in its own (``CliParts``), so a test can run the command on a double."""


class Tick(Protocol):
    """Progress events: ``start(total)`` once, ``step(label)`` per question (or baseline call),
    ``case(result)`` per finished call."""

    def start(self, total: int) -> None: ...

    def step(self, label: str) -> None: ...

    def case(self, result: CaseResult) -> None: ...


class _Silent:
    def start(self, total: int) -> None:
        pass

    def step(self, label: str) -> None:
        pass

    def case(self, result: CaseResult) -> None:
        pass


@dataclass
class RunOutcome:
    cases: list[CaseResult]
    bands: dict[str, dict[BandKey, Band]] = field(default_factory=dict)
    heads: dict[str, list[TargetKey]] = field(default_factory=dict)
    probes: dict[str, list[ProbeKey]] = field(default_factory=dict)
    cache_hits: int = 0
    cache_misses: int = 0
    cost: Callable[[str, int, int], float | None] = field(default=lambda _model, _prompt, _completion: None)


def write_transcripts(calls: Sequence[EvalCall], directory: Path) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for call in calls:
        path = directory / f"{call.id}.txt"
        write_atomic(path, call.transcript.rstrip("\n") + "\n")
        paths[call.id] = path
    return paths


def _load(call: EvalCall, path: Path, settings: Settings | None = None) -> Transcript | CaseError:
    try:
        return load_call(path, roles=call.roles, settings=settings)
    except SetupError:
        raise
    except LLMSentimentError as exc:
        return CaseError(code=exc.code, message=exc.message)


def _failed(call: EvalCall, config: str, error: LLMSentimentError, max_reasks: int, source: Source) -> CaseResult:
    case = empty_case(call, config, source)
    case.error = CaseError(code=error.code, message=error.message)
    if isinstance(error, InvalidAnswerError):
        model = str(error.details.get("model", config.split("@", 1)[-1]))
        case.questions = [
            QuestionRecord(
                question_id=error.message.split(":", 1)[0],
                model_used=model,
                asks=max_reasks + 1,
                cache_hit=False,
                latency_s=0.0,
                prompt_tokens=0,
                completion_tokens=0,
                valid=False,
            )
        ]
    return case


def run(
    calls: Sequence[EvalCall],
    configs: Sequence[EvalConfig],
    settings: Settings,
    workdir: Path,
    *,
    explain: bool = True,
    parts: tuple[AnalysisPart, ...] = ANALYSIS_PARTS,
    audio: bool = False,
    use_cache: bool = True,
    polarity: Polarity | None = None,
    llm: LLMClient | None = None,
    llm_builder: BuildLLM | None = None,
    tick: Tick | None = None,
) -> RunOutcome:
    """``parts`` are the optional analysis parts asked (segments: segment metrics and trends; summary:
    resolution); ``explain=False`` asks the labels without their evidence (quotes, reasoning), and only
    ``parts`` besides: a dataset that labels only segments needs no more. ``audio`` also renders the calls
    marked for audio and analyzes them from the recording (transcribed), as ``source="audio"`` cases.
    ``llm`` replaces the configured client (tests pass a ``FakeLLM``), ``llm_builder`` how it is built
    (``wiring.build_llm`` unless given); ``polarity`` the VADER scorer."""
    tick = tick or _Silent()
    paths = write_transcripts(calls, workdir / "transcripts")
    loaded = {call.id: _load(call, paths[call.id]) for call in calls}
    spoken: dict[str, Transcript | CaseError] = {}
    if audio:
        texts = {key: t for key, t in loaded.items() if isinstance(t, Transcript)}
        recordings = render(calls, texts, workdir / "audio")
        spoken = {key: _load(next(c for c in calls if c.id == key), path, settings) for key, path in recordings.items()}
    llm_configs = [c for c in configs if c.kind == "llm"]

    cache: ResponseCache | None = None
    outcome = RunOutcome(cases=[])
    if llm is None and llm_configs:
        llm, cache = (llm_builder or build_llm)(settings, use_cache=use_cache)
        outcome.cost = getattr(llm, "cost", outcome.cost)  # the router's price map, forwarded by its wrappers
    analyzers = {
        c.id: build_analyzer(settings, llm, model=c.model, prompts_version=c.prompts)
        for c in llm_configs
        if llm is not None
    }
    transcripts = [t for t in [*loaded.values(), *spoken.values()] if isinstance(t, Transcript)]
    tick.start(
        len(calls) * (len(configs) - len(llm_configs))
        + sum(_steps(a, t, parts, explain) for a in analyzers.values() for t in transcripts)
    )

    def record(case: CaseResult) -> None:
        outcome.cases.append(case)
        tick.case(case)

    try:
        for config in configs:
            if config.kind == "baseline":
                if polarity is None:
                    raise ValueError("the baseline row needs a polarity function")
                for call in calls:
                    transcript = loaded[call.id]
                    if isinstance(transcript, CaseError):
                        record(empty_case(call, config.id).model_copy(update={"error": transcript}))
                    else:
                        record(score_baseline(call, transcript, polarity))
                    tick.step(f"{config.id} {call.id}")
                continue
            analyzer = analyzers[config.id]
            used = {key: analyzer.thresholds_for(key) for key in BAND_KEYS}
            outcome.bands[config.id] = {key: Band(positive=t.positive, negative=t.negative) for key, t in used.items()}
            outcome.probes[config.id] = [key for key in TARGETS if analyzer.probe_for(key) is not None]
            if "summary" in parts and analyzer.probe_for("resolution") is not None:
                outcome.probes[config.id].append("resolution")
            outcome.heads[config.id] = [
                key for key in TARGETS if analyzer.head_for(key) is not None and key not in outcome.probes[config.id]
            ]
            runs: list[tuple[EvalCall, Transcript | CaseError, Source]] = [(c, loaded[c.id], "text") for c in calls]
            runs += [(c, spoken[c.id], "audio") for c in calls if c.id in spoken]
            for call, transcript, source in runs:
                if isinstance(transcript, CaseError):
                    record(empty_case(call, config.id, source).model_copy(update={"error": transcript}))
                    continue
                started = time.perf_counter()
                if _segments_only(call, parts, explain):
                    segments, provenance, _ = analyzer.score_text(transcript)
                    elapsed = time.perf_counter() - started
                    record(
                        score_segments(
                            call,
                            config.id,
                            transcript,
                            (segments, provenance),
                            elapsed,
                            analyzer.thresholds,
                            source,
                        )
                    )
                    for question in provenance:
                        tick.step(f"{config.id} {call.id} {question.question_id}")
                    continue
                per_call = _steps(analyzer, transcript, parts, explain)
                asked = 0

                def advance(question: str, _where: str = f"{config.id} {call.id}") -> None:
                    nonlocal asked
                    asked += 1
                    tick.step(f"{_where} {question}")

                try:
                    analysis = analyzer.analyze(transcript, progress=advance, parts=parts, explain=explain)
                except SetupError:
                    raise
                except LLMSentimentError as exc:
                    record(_failed(call, config.id, exc, settings.max_reasks, source))
                    for _ in range(max(0, per_call - asked)):
                        tick.step(f"{config.id} {call.id}")
                    continue
                elapsed = time.perf_counter() - started
                record(score_analysis(call, config.id, analysis, elapsed, source, thresholds=analyzer.thresholds))
    finally:
        if cache is not None:
            outcome.cache_hits, outcome.cache_misses = cache.hits, cache.misses
            cache.close()
    return outcome


def _steps(analyzer: Analyzer, transcript: Transcript, parts: tuple[AnalysisPart, ...], explain: bool) -> int:
    """Questions one call asks (for the progress bar); labels only when not explaining."""
    total = analyzer.steps(transcript, [], parts)
    return total if explain else total - len(TARGETS)


def _segments_only(call: EvalCall, parts: tuple[AnalysisPart, ...], explain: bool) -> bool:
    """A call labelled per segment alone, asked for labels and segments: its role questions would score nothing."""
    labels = call.labels
    roles = (labels.customer, labels.agent, labels.overall, labels.resolution)
    return not explain and "segments" in parts and all(label is None for label in roles)
