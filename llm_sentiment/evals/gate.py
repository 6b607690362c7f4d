"""The quality gate: minimums per metric from ``llm_sentiment/evals/thresholds.yaml``, checked against results.

The file has one section per selection: ``ci`` applies to a ``--subset ci`` run of the default dataset,
``all`` to a run over all of it (or a split); another dataset's sections are named after it,
``dailydialog-service/ci``, because its calls label other things and measure differently. Each entry is
a dotted path into a slice's metrics (``customer.macro_f1``, ``quotes.grounding_rate``) and its
minimum. Every LLM configuration in the run is checked on the whole selection; the lexicon baseline is
reference only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError

from llm_sentiment.errors import EvalFileError
from llm_sentiment.evals.aggregate import SliceMetrics
from llm_sentiment.evals.dataset import DEFAULT_DATASET
from llm_sentiment.evals.results import Results


class Thresholds(BaseModel):
    sections: dict[str, dict[str, float]] = Field(description="selection -> metric path -> minimum")

    def section(self, name: str) -> dict[str, float]:
        if name not in self.sections:
            raise EvalFileError(
                f"the thresholds file has no section {name!r} for this selection",
                hint=f"Sections: {', '.join(sorted(self.sections)) or 'none'}; gate a dataset and --subset that "
                "has one (`ci`, `all` for the default dataset, `<dataset>/ci`, `<dataset>/all` for another).",
            )
        return self.sections[name]


def section_name(dataset: str, subset: str | None) -> str:
    """``ci`` / ``all`` for the default dataset, ``<dataset>/ci`` / ``<dataset>/all`` for any other."""
    selection = subset or "all"
    return selection if dataset == DEFAULT_DATASET else f"{dataset}/{selection}"


class Failure(BaseModel):
    config: str
    metric: str
    minimum: float
    value: float | None


def load_thresholds(path: Path) -> Thresholds:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise EvalFileError(f"cannot read thresholds {path}: {exc.strerror}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise EvalFileError(f"thresholds {path} is not valid UTF-8 YAML: {exc}") from None
    try:
        thresholds = Thresholds.model_validate({"sections": raw})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"][1:])
        raise EvalFileError(
            f"thresholds {path}: {where}: {first['msg']}", hint="Write `metric.path: minimum`."
        ) from None
    for section in thresholds.sections.values():
        for metric in section:
            validate_path(metric)
    return thresholds


def validate_path(path: str) -> None:
    """A path must end on a number field of ``SliceMetrics`` (checked before any model runs)."""
    model: Any = SliceMetrics
    for i, part in enumerate(parts := path.split(".")):
        fields = getattr(model, "model_fields", None)
        if fields is None or part not in fields:
            known = ", ".join(fields) if fields else "none (a number has no parts)"
            raise EvalFileError(
                f"unknown metric {path!r} in thresholds",
                hint=f"Known after {'.'.join(parts[:i]) or 'the root'}: {known}.",
            )
        annotation = fields[part].annotation
        model = next((a for a in getattr(annotation, "__args__", (annotation,)) if hasattr(a, "model_fields")), None)
    if model is not None:
        raise EvalFileError(f"metric {path!r} in thresholds is a group, not a number")


def metric_value(metrics: SliceMetrics, path: str) -> float | None:
    """Follow ``a.b.c`` through the metrics; None when a part was not measured (e.g. no quotes asked)."""
    node: Any = metrics
    for part in path.split("."):
        if node is None:
            return None
        node = getattr(node, part)
    return None if node is None else float(node)


def check(results: Results, thresholds: Thresholds, section: str) -> list[Failure]:
    minimums = thresholds.section(section)
    failures = []
    for config in results.configs:
        if config.kind != "llm":
            continue
        for metric, minimum in minimums.items():
            value = metric_value(config.slices["all"], metric)
            if value is None or value < minimum:
                failures.append(Failure(config=config.id, metric=metric, minimum=minimum, value=value))
    return failures
