"""The gate's sections per dataset, and reports that show only what a selection labels."""

from __future__ import annotations

from llm_sentiment.evals.cases import CaseResult, empty_case
from llm_sentiment.evals.dataset import CallLabels, EvalCall, RoleLabels
from llm_sentiment.evals.gate import check, load_thresholds, section_name
from llm_sentiment.evals.report import matrix_table, render_markdown
from llm_sentiment.evals.report_html import render_html
from llm_sentiment.evals.results import DatasetInfo, Results, build
from llm_sentiment.evals.runner import EvalConfig
from llm_sentiment.settings import Settings

LLM = EvalConfig(kind="llm", prompts="v1", model="local/test")


def test_the_plain_sections_mean_the_default_dataset_and_others_are_named_after_theirs() -> None:
    assert (section_name("callcenter", "ci"), section_name("callcenter", None)) == ("ci", "all")
    assert section_name("dailydialog-service", "ci") == "dailydialog-service/ci"
    assert section_name("stc3-helpdesk", None) == "stc3-helpdesk/all"


def test_the_shipped_thresholds_gate_both_ci_subsets() -> None:
    thresholds = load_thresholds(Settings().thresholds)
    assert {"ci", "all", "dailydialog-service/ci"} <= set(thresholds.sections)
    assert set(thresholds.section("dailydialog-service/ci")) == {"segments.macro_f1", "answers.schema_valid_rate"}


def _case(ident: str, labels: CallLabels, segments: list[str] | None = None) -> CaseResult:
    transcript = "".join(f"{'Agent' if i % 2 == 0 else 'Customer'}: Line {i}.\n" for i in range(len(segments or "ab")))
    call = EvalCall(id=ident, split="test", summary="s", transcript=transcript, labels=labels)
    case = empty_case(call, LLM.id)
    for key, target in case.targets.items():
        case.targets[key] = target.model_copy(update={"predicted": "neutral", "score": 0.0})
    case.predicted_resolution = "resolved"
    case.predicted_segments = ["neutral"] * len(segments or "ab")
    return case


def _results(cases: list[CaseResult]) -> Results:
    info = DatasetInfo(name="d", calls=len(cases), dev=0, test=len(cases))
    return build(info, [LLM], cases, lambda *_: 0.0, explain=False, parts=("segments",))


def test_a_segments_only_dataset_reports_segments_and_nothing_it_does_not_label() -> None:
    labels = ["neutral", "positive", "negative", "neutral"]
    results = _results([_case("s1", CallLabels(segments=labels), labels)])
    metrics = results.configs[0].slices["all"]
    assert metrics.customer.n == 0 and metrics.customer.macro_f1 is None, "results.json keeps them, unmeasured"
    assert metrics.resolution is None and metrics.segments is not None and metrics.segments.n == 4

    (header, _, row) = matrix_table(results, "all")
    assert "segment macro-F1" in header and "schema-valid" not in header, "no answers recorded: not shown"
    for unlabeled in ("cust.", "agent", "overall", "resolution", "trend"):
        assert unlabeled not in header, unlabeled
    assert "–" not in row
    markdown = render_markdown(results)
    assert "- Mode: labels only (no quotes or reasoning asked), with segments" in markdown
    assert "- Scored: segments " in markdown
    assert "segments:" in markdown and "customer:" not in markdown and "overall:" not in markdown
    assert "Accuracy by tag" not in markdown
    page = render_html(results, [])
    assert page.count("<svg") == 1 and "d: customer" not in page


def test_a_customer_and_resolution_dataset_reports_those_only() -> None:
    cases = [
        _case("c1", CallLabels(customer=RoleLabels(sentiment="neutral"), resolution="partial")),
        _case("c2", CallLabels(customer=RoleLabels(sentiment="negative"), resolution="resolved")),
    ]
    results = _results(cases)
    header = matrix_table(results, "all")[0]
    assert "cust. macro-F1" in header and "resolution acc" in header and "cust. score MAE" in header
    assert "agent" not in header and "overall" not in header and "segment" not in header and "trend" not in header
    markdown = render_markdown(results)
    assert "- Scored: customer, resolution " in markdown
    assert "customer:" in markdown and "resolution:" in markdown and "agent:" not in markdown
    assert "| **partial** | 1 | 0 | 0 |" in markdown, "gold partial, predicted resolved"
    page = render_html(results, cases)
    assert page.count("<svg") == 2 and "<td>resolution</td><td>partial</td>" in page
    assert "<td>agent</td>" not in page


def test_an_unlabeled_gated_metric_fails_rather_than_passing_unmeasured() -> None:
    labels = ["neutral", "positive"]
    results = _results([_case("s1", CallLabels(segments=labels), labels)])
    thresholds = load_thresholds(Settings().thresholds)
    failures = check(results, thresholds, "ci")  # the callcenter section, on a segments-only selection
    assert {f.metric for f in failures if f.value is None} >= {"customer.macro_f1", "agent.macro_f1"}
