"""``report.md``: the results matrix per split, confusion matrices, per-tag accuracy, changes vs a baseline."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from llm_sentiment.evals.aggregate import LabelMetrics, SliceMetrics
from llm_sentiment.evals.cases import TARGETS
from llm_sentiment.evals.gate import Failure
from llm_sentiment.evals.results import ConfigResult, Results

Getter = Callable[[SliceMetrics], float | None]


def fmt(value: float | int | None, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}"


def _f1(name: str) -> Getter:
    return lambda m: getattr(m, name).macro_f1


KEY_METRICS: list[tuple[str, Getter]] = [
    ("customer macro-F1", _f1("customer")),
    ("customer accuracy", lambda m: m.customer.accuracy),
    ("customer kappa", lambda m: m.customer.kappa),
    ("agent macro-F1", _f1("agent")),
    ("agent kappa", lambda m: m.agent.kappa),
    ("overall macro-F1", _f1("overall")),
    ("customer score MAE", lambda m: m.customer.score_mae),
    ("quote grounding", lambda m: m.quotes.grounding_rate if m.quotes else None),
    ("schema-valid", lambda m: m.answers.schema_valid_rate if m.answers else None),
]


def _trend(m: SliceMetrics) -> str:
    values = [t.trend.accuracy for t in (m.customer, m.agent) if t.trend is not None]
    return " / ".join(fmt(v) for v in values) if values else "–"


def matrix_row(config: ConfigResult, m: SliceMetrics) -> list[str]:
    latency = m.latency
    usage = m.usage
    return [
        f"`{config.id}`",
        str(m.calls) + (f" ({m.errors} failed)" if m.errors else ""),
        fmt(m.customer.accuracy),
        fmt(m.customer.macro_f1),
        fmt(m.customer.kappa),
        fmt(m.agent.accuracy),
        fmt(m.agent.macro_f1),
        fmt(m.agent.kappa),
        fmt(m.overall.macro_f1),
        f"{fmt(m.customer.score_mae)} / {fmt(m.agent.score_mae)}",
        _trend(m),
        fmt(m.resolution.accuracy) if m.resolution else "–",
        fmt(m.segments.macro_f1) if m.segments else "–",
        fmt(m.quotes.grounding_rate, 3) if m.quotes else "–",
        fmt(m.answers.schema_valid_rate, 3) if m.answers else "–",
        fmt(m.answers.reasks_per_answer, 3) if m.answers else "–",
        f"{fmt(latency.question_p50_s, 1)} / {fmt(latency.question_p95_s, 1)}" if latency else "–",
        f"{fmt(latency.call_p50_s, 0)} / {fmt(latency.call_p95_s, 0)}" if latency else "–",
        f"{usage.prompt_tokens:,} / {usage.completion_tokens:,}" if usage else "–",
        fmt(usage.cost_usd, 4) if usage else "–",
        fmt(usage.cache_hit_rate) if usage else "–",
    ]


HEADER = [
    "configuration",
    "calls",
    "cust. acc",
    "cust. macro-F1",
    "cust. κ",
    "agent acc",
    "agent macro-F1",
    "agent κ",
    "overall macro-F1",
    "score MAE cust / agent",
    "trend acc cust / agent",
    "resolution acc",
    "segment macro-F1",
    "quote grounding",
    "schema-valid",
    "re-asks / answer",
    "question latency p50 / p95 s",
    "call latency p50 / p95 s",
    "tokens prompt / completion",
    "cost $",
    "cache hit",
]


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def matrix_table(results: Results, slice_name: str) -> list[str]:
    rows = [matrix_row(c, c.slices[slice_name]) for c in results.configs if slice_name in c.slices]
    return _table(HEADER, rows) if rows else []


def confusion_table(metrics: LabelMetrics) -> list[str]:
    labels = metrics.confusion.labels
    rows = [[f"**{gold}**", *(str(n) for n in row)] for gold, row in zip(labels, metrics.confusion.matrix, strict=True)]
    return _table(["gold \\ predicted", *labels], rows)


def _selection(results: Results) -> str:
    d = results.dataset
    parts = [f"`{d.name}`: {d.calls} calls ({d.dev} dev, {d.test} test)"]
    if d.subset:
        parts.append(f"subset `{d.subset}`")
    if d.split:
        parts.append(f"split `{d.split}`")
    if d.limit is not None:
        parts.append(f"first {d.limit}")
    return ", ".join(parts)


def _changes(results: Results, baseline: Results) -> list[str]:
    lines = ["## Changes against the baseline results", ""]
    lines.append(f"Baseline run: {baseline.created}, {baseline.dataset.name} ({baseline.dataset.calls} calls).")
    lines.append("")
    header = ["configuration", "slice", *(name for name, _ in KEY_METRICS)]
    rows = []
    for config in results.configs:
        before = baseline.config(config.id)
        if before is None:
            lines.append(f"- `{config.id}` is new in this run.")
            continue
        for slice_name, metrics in config.slices.items():
            old = before.slices.get(slice_name)
            if old is None:
                continue
            cells = []
            for _, get in KEY_METRICS:
                new_value, old_value = get(metrics), get(old)
                if new_value is None or old_value is None:
                    cells.append(f"{fmt(old_value)} → {fmt(new_value)}")
                else:
                    cells.append(f"{fmt(old_value)} → {fmt(new_value)} ({new_value - old_value:+.2f})")
            rows.append([f"`{config.id}`", slice_name, *cells])
    for before in baseline.configs:
        if results.config(before.id) is None:
            lines.append(f"- `{before.id}` was in the baseline but not in this run.")
    return [*lines, "", *_table(header, rows), ""] if rows else lines


def render_markdown(results: Results, *, baseline: Results | None = None, failures: list[Failure] | None = None) -> str:
    mode = "full (labels, quotes, reasoning)" if results.explain else "labels only (no quotes or reasoning asked)"
    lines = [
        "# Eval report",
        "",
        f"- Dataset: {_selection(results)}",
        f"- Mode: {mode}",
        f"- Created: {results.created}, llm-sentiment {results.llm_sentiment_version}",
        "",
        "Metrics: accuracy, macro-F1 and Cohen's κ of the label per role; score MAE against gold labels mapped "
        "to +1/0/−1; trend accuracy per role; resolution accuracy; macro-F1 over labeled segments; quote "
        "grounding = quotes verbatim in the right speaker's segment / (returned + dropped); schema-valid = "
        "answers that parsed / questions; latency over answers computed in this run (cache hits excluded).",
        "",
    ]
    if failures is not None:
        lines += ["## Gate", ""]
        if failures:
            lines += [f"- **FAIL** `{f.config}` {f.metric} = {fmt(f.value, 3)} < {f.minimum}" for f in failures]
        else:
            lines.append("- PASS: every gated metric is at or above its minimum.")
        lines.append("")
    for slice_name, title in (
        ("test", "Test split (the gate's)"),
        ("dev", "Dev split (prompt work)"),
        ("all", "All selected calls"),
        ("audio", "Audio: the same calls spoken (espeak-ng) and transcribed"),
    ):
        table = matrix_table(results, slice_name)
        if table:
            lines += [f"## {title}", "", *table, ""]
    if baseline is not None:
        lines += _changes(results, baseline)
    lines += ["## Confusion matrices (all selected calls)", ""]
    for config in results.configs:
        metrics = config.slices["all"]
        lines += [f"### `{config.id}`", ""]
        for key in TARGETS:
            lines += [f"{key}:", "", *confusion_table(getattr(metrics, key)), ""]
    lines += ["## Accuracy by tag (all selected calls)", ""]
    tags = sorted({t for c in results.configs for t in c.tags})
    if tags:
        header = ["tag", *(f"`{c.id}` cust / agent" for c in results.configs)]
        rows = []
        for tag in tags:
            cells = []
            for config in results.configs:
                found = config.tags.get(tag)
                cells.append(
                    f"{fmt(found.customer_accuracy)} / {fmt(found.agent_accuracy)} (n={found.calls})" if found else "–"
                )
            rows.append([tag, *cells])
        lines += [*_table(header, rows), ""]
    banded = [c for c in results.configs if c.bands or c.calibration]
    if banded:
        lines += ["## Score bands", ""]
        for config in banded:
            if config.bands:
                used = ", ".join(f"{k} [{b.negative}, {b.positive}]" for k, b in config.bands.items())
                lines.append(f"- `{config.id}` used (negative ≤, ≥ positive): {used}")
            if config.calibration:
                fitted = ", ".join(
                    f"{k} [{b.negative}, {b.positive}] (dev macro-F1 {fmt(b.dev_macro_f1)})"
                    for k, b in config.calibration.items()
                )
                lines.append(f"- `{config.id}` fitted on dev: {fitted}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
