"""``report.md``: the results matrix per split, confusion matrices, per-tag accuracy, changes vs a baseline."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from llm_sentiment.evals.aggregate import LabelMetrics, SliceMetrics
from llm_sentiment.evals.cases import TARGETS
from llm_sentiment.evals.gate import Failure
from llm_sentiment.evals.results import Results

Getter = Callable[[SliceMetrics], float | None]


def fmt(value: float | int | None, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}"


def _f1(name: str) -> Getter:
    return lambda m: getattr(m, name).macro_f1


def labeled(metrics: SliceMetrics) -> dict[str, LabelMetrics]:
    """The label metrics this slice measured: a target the dataset leaves unlabeled (or the run did not
    ask) has no gold/predicted pair, and is left out of the reports rather than shown empty."""
    found: dict[str, LabelMetrics | None] = {
        **{key: getattr(metrics, key) for key in TARGETS},
        "resolution": metrics.resolution,
        "segments": metrics.segments,
    }
    return {key: m for key, m in found.items() if m is not None and m.n > 0}


def _trend(role: str) -> Getter:
    return lambda m: trend.accuracy if (trend := getattr(m, role).trend) is not None else None


@dataclass(frozen=True)
class Column:
    """One metric column of the matrix; shown only where some row of the table measured it."""

    header: str
    cell: Callable[[SliceMetrics], str]
    measured: Callable[[SliceMetrics], bool]


def _number(header: str, get: Getter, digits: int = 2) -> Column:
    return Column(header, lambda m: fmt(get(m), digits), lambda m: get(m) is not None)


def _label(header: str, key: str, get: Callable[[LabelMetrics], float | None]) -> Column:
    return Column(
        header,
        lambda m: fmt(get(found)) if (found := labeled(m).get(key)) else "–",
        lambda m: key in labeled(m),
    )


COLUMNS: list[Column] = [
    _label("cust. acc", "customer", lambda t: t.accuracy),
    _label("cust. macro-F1", "customer", lambda t: t.macro_f1),
    _label("cust. κ", "customer", lambda t: t.kappa),
    _label("agent acc", "agent", lambda t: t.accuracy),
    _label("agent macro-F1", "agent", lambda t: t.macro_f1),
    _label("agent κ", "agent", lambda t: t.kappa),
    _label("overall macro-F1", "overall", lambda t: t.macro_f1),
    _number("cust. score MAE", lambda m: m.customer.score_mae),
    _number("agent score MAE", lambda m: m.agent.score_mae),
    _number("cust. trend acc", _trend("customer")),
    _number("agent trend acc", _trend("agent")),
    _label("resolution acc", "resolution", lambda r: r.accuracy),
    _label("segment macro-F1", "segments", lambda r: r.macro_f1),
    _number("quote grounding", lambda m: m.quotes.grounding_rate if m.quotes else None, 3),
    _number("schema-valid", lambda m: m.answers.schema_valid_rate if m.answers else None, 3),
    _number("re-asks / answer", lambda m: m.answers.reasks_per_answer if m.answers else None, 3),
    Column(
        "question latency p50 / p95 s",
        lambda m: f"{fmt(m.latency.question_p50_s, 1)} / {fmt(m.latency.question_p95_s, 1)}" if m.latency else "–",
        lambda m: m.latency is not None,
    ),
    Column(
        "call latency p50 / p95 s",
        lambda m: f"{fmt(m.latency.call_p50_s, 0)} / {fmt(m.latency.call_p95_s, 0)}" if m.latency else "–",
        lambda m: m.latency is not None,
    ),
    Column(
        "tokens prompt / completion",
        lambda m: f"{m.usage.prompt_tokens:,} / {m.usage.completion_tokens:,}" if m.usage else "–",
        lambda m: m.usage is not None,
    ),
    _number("cost $", lambda m: m.usage.cost_usd if m.usage else None, 4),
    _number("cache hit", lambda m: m.usage.cache_hit_rate if m.usage else None),
]
"""The matrix's metric columns, after the configuration and its calls."""

KEY_METRICS: list[tuple[str, Getter]] = [
    ("customer macro-F1", _f1("customer")),
    ("customer accuracy", lambda m: m.customer.accuracy),
    ("customer kappa", lambda m: m.customer.kappa),
    ("agent macro-F1", _f1("agent")),
    ("agent kappa", lambda m: m.agent.kappa),
    ("overall macro-F1", _f1("overall")),
    ("customer score MAE", lambda m: m.customer.score_mae),
    ("resolution accuracy", lambda m: m.resolution.accuracy if m.resolution else None),
    ("segment macro-F1", lambda m: m.segments.macro_f1 if m.segments else None),
    ("quote grounding", lambda m: m.quotes.grounding_rate if m.quotes else None),
    ("schema-valid", lambda m: m.answers.schema_valid_rate if m.answers else None),
]
"""What the baseline comparison follows, where either run measured it."""


def matrix(results: Results, slice_name: str) -> tuple[list[str], list[list[str]]]:
    """The header and rows of one slice's matrix: the columns some configuration measured in it."""
    rows = [(c, c.slices[slice_name]) for c in results.configs if slice_name in c.slices]
    columns = [col for col in COLUMNS if any(col.measured(m) for _, m in rows)]
    header = ["configuration", "calls", *(col.header for col in columns)]
    return header, [
        [f"`{c.id}`", str(m.calls) + (f" ({m.errors} failed)" if m.errors else ""), *(col.cell(m) for col in columns)]
        for c, m in rows
    ]


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def matrix_table(results: Results, slice_name: str) -> list[str]:
    header, rows = matrix(results, slice_name)
    return _table(header, rows) if rows else []


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


def _change(old: float | None, new: float | None) -> str:
    if old is None or new is None:
        return f"{fmt(old)} → {fmt(new)}"
    return f"{fmt(old)} → {fmt(new)} ({new - old:+.2f})"


def _changes(results: Results, baseline: Results) -> list[str]:
    lines = ["## Changes against the baseline results", ""]
    lines.append(f"Baseline run: {baseline.created}, {baseline.dataset.name} ({baseline.dataset.calls} calls).")
    lines.append("")
    pairs: list[tuple[str, str, SliceMetrics, SliceMetrics]] = []
    for config in results.configs:
        before = baseline.config(config.id)
        if before is None:
            lines.append(f"- `{config.id}` is new in this run.")
            continue
        pairs += [
            (config.id, name, metrics, before.slices[name])
            for name, metrics in config.slices.items()
            if name in before.slices
        ]
    for before in baseline.configs:
        if results.config(before.id) is None:
            lines.append(f"- `{before.id}` was in the baseline but not in this run.")
    followed = [
        (name, get) for name, get in KEY_METRICS if any(get(m) is not None or get(o) is not None for *_, m, o in pairs)
    ]
    header = ["configuration", "slice", *(name for name, _ in followed)]
    rows = [
        [f"`{config_id}`", slice_name, *(_change(get(old), get(new)) for _, get in followed)]
        for config_id, slice_name, new, old in pairs
    ]
    return [*lines, "", *_table(header, rows), ""] if rows else lines


def _tag_table(results: Results) -> list[str]:
    """Accuracy per tag, for the roles some tag has a measured accuracy for."""
    tags = sorted({t for c in results.configs for t in c.tags})
    roles = [
        (short, attribute)
        for short, attribute in (("cust", "customer_accuracy"), ("agent", "agent_accuracy"))
        if any(getattr(m, attribute) is not None for c in results.configs for m in c.tags.values())
    ]
    if not tags or not roles:
        return []
    header = ["tag", *(f"`{c.id}` {' / '.join(short for short, _ in roles)}" for c in results.configs)]
    rows = []
    for tag in tags:
        cells = []
        for config in results.configs:
            found = config.tags.get(tag)
            values = " / ".join(fmt(getattr(found, attribute)) for _, attribute in roles) if found else ""
            cells.append(f"{values} (n={found.calls})" if found else "–")
        rows.append([tag, *cells])
    return ["## Accuracy by tag (all selected calls)", "", *_table(header, rows), ""]


def mode(results: Results) -> str:
    """What the run asked: labels with or without their evidence, and the optional parts."""
    asked = "full (labels, quotes, reasoning)" if results.explain else "labels only (no quotes or reasoning asked)"
    return asked + (f", with {' and '.join(results.parts)}" if results.parts else "")


def _scored(results: Results) -> str:
    """The targets some configuration has gold labels and predictions for: the rest is in no metric."""
    keys = {key for c in results.configs for key in labeled(c.slices["all"])}
    keys |= {
        f"{role} trend"
        for c in results.configs
        for role in ("customer", "agent")
        if _trend(role)(c.slices["all"]) is not None
    }
    order = [*TARGETS, "customer trend", "agent trend", "resolution", "segments"]
    return ", ".join(k for k in order if k in keys) or "nothing (no gold label was predicted)"


def render_markdown(results: Results, *, baseline: Results | None = None, failures: list[Failure] | None = None) -> str:
    lines = [
        "# Eval report",
        "",
        f"- Dataset: {_selection(results)}",
        f"- Mode: {mode(results)}",
        f"- Scored: {_scored(results)} (what the selection labels and the run predicted)",
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
    measured = [(config, labeled(config.slices["all"])) for config in results.configs]
    if any(found for _, found in measured):
        lines += ["## Confusion matrices (all selected calls)", ""]
    for config, found in measured:
        if found:
            lines += [f"### `{config.id}`", ""]
        for key, metrics in found.items():
            lines += [f"{key}:", "", *confusion_table(metrics), ""]
    lines += _tag_table(results)
    banded = [c for c in results.configs if c.bands or c.calibration or c.heads or c.probes or c.fitted_heads]
    if banded:
        lines += ["## Score bands", ""]
        for config in banded:
            if config.bands:
                used = ", ".join(f"{k} [{b.negative}, {b.positive}]" for k, b in config.bands.items())
                lines.append(f"- `{config.id}` used (negative ≤, ≥ positive): {used}")
            if config.heads:
                lines.append(
                    f"- `{config.id}` labeled by its label head instead of the band: {', '.join(config.heads)}"
                )
            if config.probes:
                lines.append(
                    f"- `{config.id}` labeled by its probe of the model's hidden state: {', '.join(config.probes)}"
                )
            if config.calibration:
                fitted = ", ".join(
                    f"{k} [{b.negative}, {b.positive}] (dev macro-F1 {fmt(b.dev_macro_f1)})"
                    for k, b in config.calibration.items()
                )
                lines.append(f"- `{config.id}` fitted on dev: {fitted}")
            if config.fitted_heads:
                heads = ", ".join(
                    f"{k} (leave-one-out dev macro-F1 {fmt(h.dev_macro_f1)}, L2 {h.l2})"
                    for k, h in config.fitted_heads.items()
                )
                lines.append(f"- `{config.id}` label heads fitted on dev: {heads}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
