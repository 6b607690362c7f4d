"""``report.html``: the matrix, confusion-matrix plots and a per-case table, disagreements first.

Transcript-derived text (reasoning, quotes) is untrusted: everything is escaped. Plots are drawn
with matplotlib (the ``eval`` extra) as inline SVG, so the file stands alone.
"""

from __future__ import annotations

import html
import io
from collections.abc import Sequence

from llm_sentiment.errors import ConfigError
from llm_sentiment.evals.aggregate import LabelMetrics
from llm_sentiment.evals.cases import TARGETS, CaseResult, TargetKey
from llm_sentiment.evals.report import fmt, labeled, matrix, mode
from llm_sentiment.evals.results import Results

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.5em; vertical-align: top; text-align: left; }
th { background: #f3f3f3; }
tr.miss td.pred { background: #fde2e2; }
tr.hit td.pred { background: #e2f5e2; }
.plots { display: flex; flex-wrap: wrap; gap: 1em; }
.plots figure { margin: 0; }
q { font-style: italic; }
.quote-bad { color: #b00; }
"""


def _svg_confusion(metrics: LabelMetrics, title: str) -> str:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError(
            "report.html needs matplotlib (the eval extra)", hint="pip install 'llm-sentiment[eval]'"
        ) from None
    labels = metrics.confusion.labels
    matrix = metrics.confusion.matrix
    figure, axes = plt.subplots(figsize=(3.2, 3.0))
    axes.imshow(matrix, cmap="Blues")
    axes.set_xticks(range(len(labels)), labels=labels, rotation=30)
    axes.set_yticks(range(len(labels)), labels=labels)
    axes.set_xlabel("predicted")
    axes.set_ylabel("gold")
    axes.set_title(title, fontsize=9)
    peak = max((max(row) for row in matrix), default=0)
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            axes.text(j, i, str(value), ha="center", va="center", color="white" if value > peak / 2 else "black")
    figure.tight_layout()
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg")
    plt.close(figure)
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _short(labels: Sequence[str] | None) -> str:
    return " ".join(label[:3] for label in labels) if labels is not None else ""


def _target_row(case: CaseResult, key: TargetKey) -> tuple[bool, str]:
    target = case.targets[key]
    probabilities = (
        " ".join(f"{label[:3]} {p:.2f}" for label, p in target.probabilities.items()) if target.probabilities else ""
    )
    quotes = "".join(
        f'<div class="{"" if q.grounded else "quote-bad"}">[{q.segment_id}] <q>{_e(q.text)}</q></div>'
        for q in target.quotes
    )
    predicted = target.predicted or f"error: {case.error.code if case.error else '?'}"
    cells = (
        f'<td>{_e(key)}</td><td>{_e(target.gold)}</td><td class="pred">{_e(predicted)}</td>'
        f"<td>{_e(fmt(target.score))}</td><td>{_e(probabilities)}</td><td>{_e(target.reasoning)}</td><td>{quotes}</td>"
    )
    return target.predicted == target.gold, cells


def _outcome_row(key: str, gold: str, predicted: str | None, agreement: str, case: CaseResult) -> tuple[bool, str]:
    """Resolution and segment labels: no score, reasoning or quotes of their own in a case."""
    shown = predicted if predicted is not None else f"error: {case.error.code if case.error else 'not asked'}"
    cells = (
        f'<td>{_e(key)}</td><td>{_e(gold)}</td><td class="pred">{_e(shown)}</td>'
        f"<td>{_e(agreement)}</td><td></td><td></td><td></td>"
    )
    return predicted == gold, cells


def _case_rows(cases: Sequence[CaseResult]) -> str:
    """One row per case and labeled target (roles, call, resolution, segments); disagreements (and failed
    calls) first."""
    entries = []
    for case in cases:
        rows = [_target_row(case, key) for key in TARGETS if case.targets[key].gold is not None]
        if case.gold_resolution is not None:
            rows.append(_outcome_row("resolution", case.gold_resolution, case.predicted_resolution, "", case))
        if case.gold_segments is not None:
            predicted = case.predicted_segments
            agree = sum(g == p for g, p in zip(case.gold_segments, predicted or [], strict=False))
            shown = _short(predicted) if predicted is not None else None
            counted = f"{agree}/{len(case.gold_segments)}"
            rows.append(_outcome_row("segments", _short(case.gold_segments), shown, counted, case))
        entries += [(agrees, case, order, cells) for order, (agrees, cells) in enumerate(rows)]
    entries.sort(key=lambda e: (e[0], e[1].config, e[1].call_id, e[2]))
    body = "".join(
        f'<tr class="{"hit" if agrees else "miss"}"><td>{_e(case.config)}</td><td>{_e(case.call_id)}</td>'
        f"<td>{_e(case.split)}</td>{cells}</tr>"
        for agrees, case, _, cells in entries
    )
    header = "".join(
        f"<th>{h}</th>"
        for h in (
            "configuration",
            "call",
            "split",
            "label",
            "gold",
            "predicted",
            "score (segments: agreeing)",
            "P(label)",
            "reasoning",
            "quotes",
        )
    )
    return f"<table><tr>{header}</tr>{body}</table>"


def render_html(results: Results, cases: Sequence[CaseResult]) -> str:
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>llm-sentiment eval</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>llm-sentiment eval</h1>",
        f"<p>Dataset <b>{_e(results.dataset.name)}</b>, {results.dataset.calls} calls "
        f"({results.dataset.dev} dev, {results.dataset.test} test); created {_e(results.created)}; "
        f"mode: {_e(mode(results))}.</p>",
    ]
    for slice_name in ("test", "dev", "all", "audio"):
        header, rows = matrix(results, slice_name)
        if rows:
            parts += [f"<h2>{_e(slice_name)}</h2>", _table(header, [[cell.strip("`") for cell in row] for row in rows])]
    measured = [(config, labeled(config.slices["all"])) for config in results.configs]
    if any(found for _, found in measured):
        parts.append("<h2>Confusion matrices (all selected calls)</h2>")
    for config, found in measured:
        if found:
            plots = "".join(
                f"<figure>{_svg_confusion(metrics, f'{config.id}: {key}')}</figure>" for key, metrics in found.items()
            )
            parts += [f"<h3>{_e(config.id)}</h3>", f'<div class="plots">{plots}</div>']
    parts += ["<h2>Per case (disagreements first)</h2>", _case_rows(cases), "</body></html>"]
    return "\n".join(parts)
