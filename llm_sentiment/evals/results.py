"""``results.json``: every configuration's metrics per slice, with stable keys (``schema_version``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from llm_sentiment import __version__
from llm_sentiment.analysis.analyzer import AnalysisPart
from llm_sentiment.ask.calibration import Band
from llm_sentiment.errors import EvalFileError
from llm_sentiment.evals.aggregate import Cost, SliceMetrics, slice_metrics
from llm_sentiment.evals.calibrate import FittedBand, FittedScaling
from llm_sentiment.evals.cases import BandKey, CaseResult, ProbeKey, TargetKey
from llm_sentiment.evals.dataset import SPLITS, Split
from llm_sentiment.evals.metrics.summary import rate
from llm_sentiment.evals.runner import EvalConfig

SCHEMA_VERSION = 1


class DatasetInfo(BaseModel):
    name: str
    split: Split | None = None
    subset: str | None = None
    limit: int | None = None
    calls: int
    dev: int
    test: int


class TagMetrics(BaseModel):
    calls: int
    customer_accuracy: float | None
    agent_accuracy: float | None


class ConfigResult(BaseModel):
    id: str
    kind: Literal["llm", "baseline"]
    prompts: str | None
    model: str | None
    bands: dict[BandKey, Band] | None = Field(None, description="Score bands the pipeline used, per target.")
    slices: dict[str, SliceMetrics] = Field(
        description="'all' (the whole selection, as text transcripts), 'dev', 'test'; "
        "'audio' (the calls marked for audio, spoken and transcribed)."
    )
    tags: dict[str, TagMetrics]
    heads: list[TargetKey] = Field(
        default_factory=list,
        description="Targets labeled by the prompt version's label head (calibration.yaml), not by their band.",
    )
    probes: list[ProbeKey] = Field(
        default_factory=list,
        description="Targets labeled by the prompt version's probe of the model's hidden state, not by a head or band "
        "(resolution: the status chosen by its probe, the resolution question giving the evidence).",
    )
    calibration: dict[BandKey, FittedBand] | None = Field(None, description="Bands fitted on dev (--calibrate).")
    fitted_heads: dict[TargetKey, FittedScaling] | None = Field(
        None, description="Label heads fitted on dev (--calibrate)."
    )


class Results(BaseModel):
    schema_version: int = SCHEMA_VERSION
    created: str
    llm_sentiment_version: str
    dataset: DatasetInfo
    explain: bool = Field(description="False for a labels-only run: no quotes or reasoning were asked for.")
    parts: list[AnalysisPart] = Field(
        default_factory=list, description="Optional analysis parts asked: segments, summary (none in older files)."
    )
    configs: list[ConfigResult]

    def config(self, config_id: str) -> ConfigResult | None:
        return next((c for c in self.configs if c.id == config_id), None)


def _accuracy(cases: Sequence[CaseResult], key: TargetKey) -> float | None:
    """Over the cases labeled for ``key``."""
    labeled = [c.targets[key] for c in cases if c.targets[key].gold is not None]
    return rate(sum(t.predicted == t.gold for t in labeled), len(labeled))


def _tags(cases: Sequence[CaseResult]) -> dict[str, TagMetrics]:
    tags: dict[str, TagMetrics] = {}
    for tag in sorted({t for c in cases for t in c.tags}):
        tagged = [c for c in cases if tag in c.tags and c.error is None]
        tags[tag] = TagMetrics(
            calls=len(tagged),
            customer_accuracy=_accuracy(tagged, "customer"),
            agent_accuracy=_accuracy(tagged, "agent"),
        )
    return tags


def build(
    dataset: DatasetInfo,
    configs: Sequence[EvalConfig],
    cases: Sequence[CaseResult],
    cost: Cost,
    *,
    explain: bool,
    parts: Sequence[AnalysisPart] = (),
    bands: dict[str, dict[BandKey, Band]] | None = None,
    heads: dict[str, list[TargetKey]] | None = None,
    probes: dict[str, list[ProbeKey]] | None = None,
    calibration: dict[str, dict[BandKey, FittedBand]] | None = None,
    fitted_heads: dict[str, dict[TargetKey, FittedScaling]] | None = None,
) -> Results:
    rows = []
    for config in configs:
        own = [c for c in cases if c.config == config.id and c.source == "text"]
        slices = {"all": slice_metrics(own, cost)}
        for split in SPLITS:
            part = [c for c in own if c.split == split]
            if part:
                slices[split] = slice_metrics(part, cost)
        spoken = [c for c in cases if c.config == config.id and c.source == "audio"]
        if spoken:
            slices["audio"] = slice_metrics(spoken, cost)
        rows.append(
            ConfigResult(
                id=config.id,
                kind=config.kind,
                prompts=config.prompts,
                model=config.model,
                bands=(bands or {}).get(config.id),
                slices=slices,
                tags=_tags(own),
                heads=(heads or {}).get(config.id, []),
                probes=(probes or {}).get(config.id, []),
                calibration=(calibration or {}).get(config.id),
                fitted_heads=(fitted_heads or {}).get(config.id),
            )
        )
    return Results(
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        llm_sentiment_version=__version__,
        dataset=dataset,
        explain=explain,
        parts=list(parts),
        configs=rows,
    )


def load_results(path: Path) -> Results:
    """A previous run's ``results.json`` (for ``--baseline``)."""
    try:
        return Results.model_validate_json(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise EvalFileError(f"cannot read baseline results {path}: {exc.strerror}") from None
    except (UnicodeDecodeError, ValidationError) as exc:
        raise EvalFileError(
            f"{path} is not an eval results.json: {str(exc).splitlines()[0]}",
            hint="Pass the results.json an earlier `llm-sentiment eval` wrote.",
        ) from None
