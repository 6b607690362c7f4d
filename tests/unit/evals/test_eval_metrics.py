"""The eval's metric math on hand-computed cases, including the edges (absent classes, empty input)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llm_sentiment.evals.aggregate import slice_metrics
from llm_sentiment.evals.calibrate import fit, fit_band
from llm_sentiment.evals.cases import empty_case, score_analysis
from llm_sentiment.evals.dataset import CallLabels, EvalCall, RoleLabels
from llm_sentiment.evals.metrics.accuracy import accuracy
from llm_sentiment.evals.metrics.confusion import confusion_matrix
from llm_sentiment.evals.metrics.f1 import macro_f1, per_class
from llm_sentiment.evals.metrics.kappa import cohen_kappa
from llm_sentiment.evals.metrics.regression import mean_absolute_error, score_mae
from llm_sentiment.evals.metrics.summary import mean, percentile, rate
from tests.unit import handmade

LABELS = ("positive", "neutral", "negative")
GOLD = ["positive", "positive", "neutral", "negative", "negative", "negative"]
PRED = ["positive", "neutral", "neutral", "negative", "negative", "positive"]


def test_confusion_matrix_rows_are_gold_columns_are_predictions() -> None:
    assert confusion_matrix(GOLD, PRED, LABELS) == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]


def test_confusion_matrix_rejects_unknown_labels_and_length_mismatch() -> None:
    with pytest.raises(ValueError, match="outside"):
        confusion_matrix(["happy"], ["positive"], LABELS)
    with pytest.raises(ValueError, match="1 gold labels but 2"):
        confusion_matrix(["positive"], ["positive", "neutral"], LABELS)


def test_accuracy_and_per_class_f1_by_hand() -> None:
    matrix = confusion_matrix(GOLD, PRED, LABELS)
    assert accuracy(matrix) == pytest.approx(4 / 6)
    scores = per_class(matrix, LABELS)
    assert scores["positive"].precision == pytest.approx(0.5) and scores["positive"].recall == pytest.approx(0.5)
    assert scores["positive"].f1 == pytest.approx(0.5)
    assert scores["neutral"].f1 == pytest.approx(2 / 3)
    assert scores["negative"].precision == 1.0 and scores["negative"].f1 == pytest.approx(0.8)
    assert scores["negative"].support == 3 and scores["negative"].predicted == 2
    assert macro_f1(matrix, LABELS) == pytest.approx((0.5 + 2 / 3 + 0.8) / 3)


def test_macro_f1_leaves_out_a_class_absent_from_gold_and_predictions() -> None:
    matrix = confusion_matrix(["positive", "negative"], ["positive", "negative"], LABELS)
    assert per_class(matrix, LABELS)["neutral"].f1 is None
    assert macro_f1(matrix, LABELS) == 1.0


def test_macro_f1_counts_a_gold_class_never_predicted_as_zero() -> None:
    matrix = confusion_matrix(["neutral", "positive"], ["positive", "positive"], LABELS)
    scores = per_class(matrix, LABELS)
    assert scores["neutral"].f1 == 0.0 and scores["neutral"].precision is None and scores["neutral"].recall == 0.0
    assert scores["positive"].f1 == pytest.approx(2 / 3)
    assert macro_f1(matrix, LABELS) == pytest.approx(1 / 3)


def test_macro_f1_counts_a_predicted_class_absent_from_gold_as_zero() -> None:
    matrix = confusion_matrix(["positive", "positive"], ["positive", "negative"], LABELS)
    assert per_class(matrix, LABELS)["negative"].f1 == 0.0
    assert macro_f1(matrix, LABELS) == pytest.approx((2 / 3 + 0.0) / 2)


def test_empty_input_has_no_scores_rather_than_fake_zeros() -> None:
    matrix = confusion_matrix([], [], LABELS)
    assert accuracy(matrix) is None and macro_f1(matrix, LABELS) is None and cohen_kappa(matrix) is None


def test_kappa_of_a_textbook_two_by_two() -> None:
    # p_o = 0.7, p_e = (25*30 + 25*20) / 50^2 = 0.5, kappa = 0.2 / 0.5
    assert cohen_kappa([[20, 5], [10, 15]]) == pytest.approx(0.4)


def test_kappa_is_one_for_perfect_agreement_zero_for_chance_and_undefined_when_constant() -> None:
    assert cohen_kappa(confusion_matrix(GOLD, GOLD, LABELS)) == pytest.approx(1.0)
    assert cohen_kappa([[5, 5], [5, 5]]) == pytest.approx(0.0)
    assert cohen_kappa([[4, 0, 0], [0, 0, 0], [0, 0, 0]]) is None  # both sides always said the same label


def test_kappa_is_negative_below_chance() -> None:
    assert cohen_kappa([[0, 5], [5, 0]]) == pytest.approx(-1.0)


def test_score_mae_maps_labels_to_plus_one_zero_minus_one() -> None:
    assert score_mae(["positive", "neutral", "negative"], [0.5, 0.0, -1.0]) == pytest.approx(0.5 / 3)
    assert score_mae([], []) is None
    with pytest.raises(ValueError):
        mean_absolute_error([1.0], [])


def test_percentile_interpolates_like_numpy() -> None:
    values = [1.0, 2.0, 3.0, 4.0]
    assert percentile(values, 50) == pytest.approx(2.5)
    assert percentile(values, 95) == pytest.approx(3.85)
    assert percentile([7.0], 95) == 7.0
    assert percentile([], 50) is None
    with pytest.raises(ValueError):
        percentile(values, 101)


def test_rate_and_mean_of_nothing_are_none() -> None:
    assert rate(0, 0) is None and mean([]) is None
    assert rate(3, 4) == 0.75 and mean([1.0, 2.0]) == 1.5


@given(st.lists(st.tuples(st.sampled_from(LABELS), st.sampled_from(LABELS)), min_size=1, max_size=40))
def test_metric_ranges_hold_for_any_labels(pairs: list[tuple[str, str]]) -> None:
    gold = [g for g, _ in pairs]
    predicted = [p for _, p in pairs]
    matrix = confusion_matrix(gold, predicted, LABELS)
    assert sum(map(sum, matrix)) == len(pairs)
    acc = accuracy(matrix)
    f1 = macro_f1(matrix, LABELS)
    assert acc is not None and 0 <= acc <= 1
    assert f1 is not None and 0 <= f1 <= 1
    kappa = cohen_kappa(matrix)
    assert kappa is None or -1 <= kappa <= 1
    if gold == predicted:
        assert acc == 1 and f1 == 1


def test_calibration_finds_a_neutral_band_that_separates_the_scores() -> None:
    gold = ["positive", "positive", "neutral", "neutral", "neutral", "negative", "negative"]
    scores = [0.9, 0.8, 0.6, 0.5, 0.1, -0.4, -0.9]  # the model leans positive on calm calls
    band = fit_band(gold, scores)
    assert band.dev_macro_f1 == 1.0 and band.dev_calls == 7
    assert 0.6 < band.positive <= 0.8 and -0.4 <= band.negative < 0.1


def test_calibration_without_data_keeps_the_default_band() -> None:
    band = fit_band([], [])
    assert (band.negative, band.positive) == (-0.33, 0.33)


def _labeled(ident: str, labels: CallLabels) -> EvalCall:
    return EvalCall(id=ident, split="dev", summary="s", transcript="Agent: Hi.\nCustomer: Hello.\n", labels=labels)


def test_a_target_the_dataset_leaves_unlabeled_is_skipped_not_counted_wrong() -> None:
    """A source with only customer labels (or only segments) scores what it labels; the predictions for
    the rest are kept in the case but left out of every metric."""
    full = _labeled(
        "full",
        CallLabels(
            customer=RoleLabels(sentiment="negative", trend="stable"),
            agent=RoleLabels(sentiment="neutral", trend="stable"),
            overall="negative",
            resolution="partial",
        ),
    )
    customer_only = _labeled("cust", CallLabels(customer=RoleLabels(sentiment="positive"), resolution="resolved"))
    segments_only = _labeled("segs", CallLabels(segments=["neutral", "positive"]))
    cases = []
    for call in (full, customer_only, segments_only):
        case = empty_case(call, "c")
        for key, target in case.targets.items():
            case.targets[key] = target.model_copy(update={"predicted": "negative", "score": -0.5})
        case.predicted_resolution = "partial"
        case.predicted_segments = ["neutral", "positive"]
        cases.append(case)
    metrics = slice_metrics(cases, lambda *_: 0.0)
    assert (metrics.customer.n, metrics.customer.accuracy) == (2, 0.5)
    assert (metrics.agent.n, metrics.overall.n) == (1, 1)
    assert metrics.customer.trend is None  # no gold trend anywhere: not scored
    assert metrics.resolution is not None and (metrics.resolution.n, metrics.resolution.accuracy) == (2, 0.5)
    assert metrics.segments is not None and (metrics.segments.n, metrics.segments.accuracy) == (2, 1.0)
    assert cases[2].targets["customer"].predicted == "negative" and cases[2].disagreements() == 0
    assert fit(cases)["agent"].dev_calls == 1


def test_a_band_fitted_across_datasets_weighs_each_dataset_the_same() -> None:
    from llm_sentiment.evals.calibrate import fit_band, fit_band_across

    written = (["positive", "neutral", "negative"] * 20, [0.6, 0.1, -0.6] * 20)  # easy, and large
    real = (["positive", "negative"], [0.1, -0.5])  # a small set whose positives score low
    alone = fit_band(*written)
    together = fit_band_across([written, real])
    assert together.positive <= 0.1 < alone.positive, "the small real set still moves the positive edge"
    assert together.dev_calls == 62 and together.dev_macro_f1 is not None and together.dev_macro_f1 < 1.0


@pytest.mark.parametrize(
    ("found", "scored"),
    [("resolved", "resolved"), ("partial", "partial"), ("unresolved", "unresolved"), ("unclear", "partial")],
)
def test_resolution_partial_scores_as_partial_and_unclear_as_the_datasets_middle_class(found: str, scored: str) -> None:
    made = handmade.analysis([("agent", 0.0), ("customer", 0.0)], resolution=found)  # type: ignore[arg-type]
    call = _labeled("res", CallLabels(resolution="partial"))
    case = score_analysis(call, "c", made, wall_s=1.0)
    assert case.predicted_resolution == scored
    metrics = slice_metrics([case], lambda *_: 0.0)
    assert metrics.resolution is not None and metrics.resolution.accuracy == (1.0 if scored == "partial" else 0.0)


def test_the_segment_band_is_fitted_on_dev_turns_of_every_dataset_with_segment_labels() -> None:
    from llm_sentiment.evals.calibrate import fit_across

    def case(ident: str, gold: list[Any], scores: list[float], split: Any = "dev") -> Any:
        call = _labeled(ident, CallLabels(segments=gold)).model_copy(update={"split": split})
        return empty_case(call, "c").model_copy(update={"segment_scores": scores})

    written = [case("w", ["positive", "neutral", "negative"], [0.9, 0.5, -0.8])]  # polite neutral lines score high
    real = [case("r", ["neutral", "positive"], [0.4, 0.95]), case("t", ["neutral"], [-0.9], split="test")]
    band = fit_across([written, real])["segment"]
    assert band.dev_calls == 5, "turns of dev cases only"
    assert 0.5 < band.positive <= 0.9 and band.dev_macro_f1 == 1.0
    assert fit_across([[case("x", ["neutral"], [0.0])]])["customer"].dev_calls == 0


def test_a_label_head_fitted_on_dev_learns_what_one_band_misses() -> None:
    from llm_sentiment.analysis.scoring import from_head
    from llm_sentiment.ask.calibration import Thresholds
    from llm_sentiment.evals.calibrate import fit_head_across

    def p(pos: float, neg: float) -> dict[Any, float]:
        return {"positive": pos, "neutral": 1 - pos - neg, "negative": neg}

    # negatives show only as P(negative) at 0.3-0.4 while P(neutral) stays the likeliest; positives are sure
    real = (
        ["negative"] * 6 + ["neutral"] * 6 + ["positive"] * 6,
        [p(0.05, 0.35)] * 6 + [p(0.05, 0.1)] * 6 + [p(0.8, 0.05)] * 6,
    )
    head = fit_head_across([real])
    assert head is not None and head.dev_calls == 18 and head.dev_macro_f1 == 1.0
    assert from_head(p(0.05, 0.38), head, Thresholds()).label == "negative"
    assert from_head(p(0.05, 0.08), head, Thresholds()).label == "neutral"
    assert fit_head_across([(["neutral", "positive"], [p(0.1, 0.1), p(0.8, 0.1)])]) is None, "too few of a label"


def test_bands_are_fitted_on_the_models_own_score_not_a_label_heads() -> None:
    """A run labeled by a head records the head's score (held inside its label's band); a band refitted from
    that run must read P(positive) - P(negative) instead, or it would fit the head's output."""
    cases = []
    for ident, gold, pos, neg in [
        ("a", "positive", 0.25, 0.05),
        ("b", "neutral", 0.1, 0.08),
        ("c", "negative", 0.05, 0.3),
    ]:
        case = empty_case(_labeled(ident, CallLabels(customer=RoleLabels(sentiment=gold))), "c")
        probabilities = {"positive": pos, "neutral": 1 - pos - neg, "negative": neg}
        case.targets["customer"] = case.targets["customer"].model_copy(
            update={
                "predicted": gold,
                "score": {"positive": 0.9, "neutral": 0.0, "negative": -0.9}[gold],
                "probabilities": probabilities,
            }
        )
        cases.append(case)
    band = fit(cases)["customer"]
    assert (
        band.dev_macro_f1 == 1.0 and 0.02 < band.positive <= 0.2 and -0.25 <= band.negative < 0.02
    )  # raw 0.2, 0.02, -0.25
