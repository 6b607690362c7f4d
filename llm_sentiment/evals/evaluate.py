"""One eval invocation end to end: select calls, run the matrix, fit bands, write the reports, gate.

Everything that can be wrong with the inputs (dataset, prompt versions, models, thresholds,
baseline) is checked before the first model call; reports are written atomically at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, Field

from llm_sentiment._util.fileio import write_atomic
from llm_sentiment.analysis.analyzer import ANALYSIS_PARTS, AnalysisPart
from llm_sentiment.ask.calibration import Band, Calibration, Scaling
from llm_sentiment.ask.prompts import PromptSet
from llm_sentiment.errors import BelowThresholdError, ConfigError
from llm_sentiment.evals.baseline import Polarity, vader_polarity
from llm_sentiment.evals.calibrate import FittedBand, FittedScaling, fit, fit_heads_across
from llm_sentiment.evals.cases import BandKey, CaseResult, TargetKey
from llm_sentiment.evals.dataset import DEFAULT_DATASET, Dataset, EvalCall, Split, load_dataset
from llm_sentiment.evals.gate import Failure, Thresholds, check, load_thresholds, section_name
from llm_sentiment.evals.report import render_markdown
from llm_sentiment.evals.report_html import render_html
from llm_sentiment.evals.results import DatasetInfo, Results, build, load_results
from llm_sentiment.evals.runner import BuildLLM, EvalConfig, Tick, matrix, run
from llm_sentiment.llm.base import LLMClient
from llm_sentiment.llm.config import RouterConfig
from llm_sentiment.settings import Settings


class EvalRequest(BaseModel):
    dataset: str = DEFAULT_DATASET
    split: Split | None = None
    subset: str | None = None
    limit: int | None = Field(None, ge=0)
    prompts: list[str] = Field(default_factory=list, description="Default: the configured prompt version.")
    models: list[str] = Field(default_factory=list, description="Default: the configured model.")
    output: Path = Path("eval-out")
    baseline: Path | None = None
    check: bool = False
    thresholds: Path | None = None
    explain: bool = Field(True, description="False: the labels without their quotes and reasoning.")
    parts: tuple[AnalysisPart, ...] = Field(
        ANALYSIS_PARTS, description="Optional analysis parts to ask, with or without the evidence."
    )
    audio: bool = Field(False, description="Also analyze the calls marked for audio from their rendered recordings.")
    calibrate: bool = False
    use_cache: bool = True
    lexicon: bool = True


@dataclass
class EvalOutcome:
    results: Results
    cases: list[CaseResult]
    failures: list[Failure] | None
    written: list[Path]


def _validate_matrix(settings: Settings, prompts: list[str], models: list[str]) -> None:
    for version in prompts:
        PromptSet(settings.prompts_dir, version)
    groups = RouterConfig.load(settings.router_config).groups()
    unknown = [m for m in models if m not in groups]
    if unknown:
        raise ConfigError(
            f"unknown model {', '.join(unknown)}", hint=f"Model groups in the router config: {', '.join(groups)}."
        )


def _selection(dataset: Dataset, request: EvalRequest) -> tuple[list[EvalCall], DatasetInfo]:
    calls = dataset.select(split=request.split, subset=request.subset, limit=request.limit)
    info = DatasetInfo(
        name=dataset.name,
        split=request.split,
        subset=request.subset,
        limit=request.limit,
        calls=len(calls),
        dev=sum(c.split == "dev" for c in calls),
        test=sum(c.split == "test" for c in calls),
    )
    return calls, info


def prepare(request: EvalRequest, settings: Settings) -> tuple[list[EvalCall], DatasetInfo, list[EvalConfig]]:
    """Load and validate everything the run needs, without asking any model."""
    dataset = load_dataset(request.dataset, settings.evals_dir / "datasets")
    calls, info = _selection(dataset, request)
    prompts = request.prompts or [settings.prompts_version]
    models = request.models or [settings.model]
    _validate_matrix(settings, prompts, models)
    return calls, info, matrix(prompts, models, baseline=request.lexicon)


def calibration_files(
    fitted: dict[str, dict[BandKey, FittedBand]],
    heads: dict[str, dict[TargetKey, FittedScaling]],
    configs: list[EvalConfig],
    info: DatasetInfo,
) -> dict[str, str]:
    """One ``calibration.yaml`` per prompt version, with a block per model (bands, and label heads where the dev
    split allows one), ready to copy into the prompt version."""
    by_version: dict[str, dict[str, dict[str, Band]]] = {}
    scaling: dict[str, dict[str, dict[str, Scaling]]] = {}
    for config in configs:
        if config.kind != "llm" or config.id not in fitted or config.prompts is None or config.model is None:
            continue
        bands = {
            str(key): Band(positive=b.positive, negative=b.negative)
            for key, b in fitted[config.id].items()
            if b.dev_calls
        }
        if bands:
            by_version.setdefault(config.prompts, {})[config.model] = bands
        own = {str(k): Scaling(weights=h.weights, bias=h.bias) for k, h in heads.get(config.id, {}).items()}
        if own:
            scaling.setdefault(config.prompts, {})[config.model] = own
    files = {}
    for version, models in by_version.items():
        calibration = Calibration(
            fitted_on=f"{info.name} dev split, {info.dev} calls", models=models, scaling=scaling.get(version, {})
        )
        header = (
            f"# Score bands and label heads for prompt version {version}, fitted on dev by "
            "`llm-sentiment eval --calibrate`.\n"
            "# Copy into llm_sentiment/prompts/<version>/calibration.yaml to use them; judge them on the test split.\n"
        )
        files[version] = header + yaml.safe_dump(
            calibration.model_dump(mode="json"), sort_keys=False, default_flow_style=None
        )
    return files


def evaluate(
    request: EvalRequest,
    settings: Settings,
    *,
    tick: Tick | None = None,
    llm: LLMClient | None = None,
    llm_builder: BuildLLM | None = None,
    polarity: Polarity | None = None,
) -> EvalOutcome:
    """Raises ``BelowThresholdError`` after writing the reports when ``request.check`` fails."""
    calls, info, configs = prepare(request, settings)
    thresholds: Thresholds | None = None
    section = section_name(info.name, request.subset)
    if request.check:
        thresholds = load_thresholds(request.thresholds or settings.thresholds)
        thresholds.section(section)
    baseline = load_results(request.baseline) if request.baseline else None
    if request.lexicon and polarity is None:
        polarity = vader_polarity()
    outcome = run(
        calls,
        configs,
        settings,
        request.output,
        explain=request.explain,
        parts=request.parts,
        audio=request.audio,
        use_cache=request.use_cache,
        polarity=polarity,
        llm=llm,
        llm_builder=llm_builder,
        tick=tick,
    )
    own = {c.id: [case for case in outcome.cases if case.config == c.id] for c in configs if c.kind == "llm"}
    fitted = {key: fit(cases) for key, cases in own.items()} if request.calibrate else None
    heads = {key: fit_heads_across([cases]) for key, cases in own.items()} if request.calibrate else None
    results = build(
        info,
        configs,
        outcome.cases,
        outcome.cost,
        explain=request.explain,
        parts=request.parts,
        bands=outcome.bands,
        heads=outcome.heads,
        probes=outcome.probes,
        calibration=fitted,
        fitted_heads=heads,
    )
    failures = check(results, thresholds, section) if thresholds is not None else None
    output = request.output
    written = [output / "results.json", output / "cases.jsonl", output / "report.md", output / "report.html"]
    write_atomic(written[0], results.model_dump_json(indent=2) + "\n")
    write_atomic(written[1], "".join(case.model_dump_json() + "\n" for case in outcome.cases))
    write_atomic(written[2], render_markdown(results, baseline=baseline, failures=failures))
    write_atomic(written[3], render_html(results, outcome.cases))
    if fitted:
        for version, text in calibration_files(fitted, heads or {}, configs, info).items():
            path = output / "calibration" / version / "calibration.yaml"
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, text)
            written.append(path)
    if failures:
        listed = "; ".join(
            f"{f.config} {f.metric} {f.value if f.value is None else round(f.value, 3)} < {f.minimum}" for f in failures
        )
        raise BelowThresholdError(
            f"{len(failures)} metric(s) below the gate: {listed}",
            hint=f"See {written[2]}. Thresholds: {request.thresholds or settings.thresholds}.",
        )
    return EvalOutcome(results=results, cases=outcome.cases, failures=failures, written=written)
