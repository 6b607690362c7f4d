from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llm_sentiment.analysis.scoring import from_head, from_model, from_probabilities, label_probabilities
from llm_sentiment.ask.calibration import Scaling, Thresholds
from llm_sentiment.llm.base import TokenLogprob

T = Thresholds()


def _lp(p: float) -> float:
    return math.log(p)


def test_probabilities_at_the_label_token_with_a_split_quote() -> None:
    content = '{"label": "negative", "confidence": 0.9}'
    tokens = [
        TokenLogprob(token='{"', logprob=0),
        TokenLogprob(token="label", logprob=0),
        TokenLogprob(token='":', logprob=0),
        TokenLogprob(token=' "', logprob=0),
        TokenLogprob(
            token="neg", logprob=_lp(0.6), top={"neg": _lp(0.6), "neutral": _lp(0.3), "pos": _lp(0.05), "n": _lp(0.05)}
        ),
        TokenLogprob(token='ative", "confidence": 0.9}', logprob=0),
    ]
    probs = label_probabilities(content, tokens)
    assert probs is not None
    assert probs["negative"] == pytest.approx(0.6 / 0.95, abs=1e-3)  # "n" fits two labels: ignored
    assert probs["neutral"] == pytest.approx(0.3 / 0.95, abs=1e-3)


def test_probabilities_when_the_token_carries_the_opening_quote() -> None:
    content = '{"label":"positive"}'
    tokens = [
        TokenLogprob(token='{"label":', logprob=0),
        TokenLogprob(
            token='"positive', logprob=_lp(0.7), top={'"positive': _lp(0.7), '"neutral': _lp(0.2), '"': _lp(0.1)}
        ),
        TokenLogprob(token='"}', logprob=0),
    ]
    probs = label_probabilities(content, tokens)
    assert probs == {
        "positive": pytest.approx(0.7 / 0.9, abs=1e-3),
        "neutral": pytest.approx(0.2 / 0.9, abs=1e-3),
        "negative": 0.0,
    }


def test_no_logprobs_or_no_label_mass() -> None:
    assert label_probabilities('{"label": "neutral"}', None) is None
    junk = [TokenLogprob(token='{"label": "', logprob=0), TokenLogprob(token="neutral", logprob=-5, top={"xyz": -0.01})]
    assert label_probabilities('{"label": "neutral"}', junk) is None


@pytest.mark.parametrize(
    ("probs", "label"),
    [
        ({"positive": 0.8, "neutral": 0.15, "negative": 0.05}, "positive"),
        ({"positive": 0.4, "neutral": 0.5, "negative": 0.1}, "neutral"),
        ({"positive": 0.05, "neutral": 0.35, "negative": 0.6}, "negative"),
    ],
)
def test_label_is_the_band_of_the_score(probs: dict[str, float], label: str) -> None:
    scored = from_probabilities(probs, T)  # type: ignore[arg-type]
    assert scored.label == label
    assert scored.score == pytest.approx(probs["positive"] - probs["negative"])
    assert scored.confidence == probs[label] and scored.source == "logprobs"


def test_thresholds_are_configurable() -> None:
    probs = {"positive": 0.4, "neutral": 0.5, "negative": 0.1}
    assert from_probabilities(probs, Thresholds(positive=0.25, negative=-0.25)).label == "positive"  # type: ignore[arg-type]


@pytest.mark.parametrize("label", ["positive", "neutral", "negative"])
@pytest.mark.parametrize("confidence", [0.0, 0.5, 1.0])
def test_model_estimate_stays_inside_its_band(label: str, confidence: float) -> None:
    scored = from_model(label, confidence, T)  # type: ignore[arg-type]
    assert T.label(scored.score) == label and -1 <= scored.score <= 1 and scored.source == "model"


@given(
    st.floats(-1, 1),
    st.floats(-1, 1),
    st.floats(0.05, 0.95),
    st.floats(-0.95, -0.05),
)
def test_a_rescaled_score_keeps_its_label_order_and_ends(a: float, b: float, positive: float, negative: float) -> None:
    from llm_sentiment.analysis.scoring import rescaled

    band, default = Thresholds(positive, negative), Thresholds()
    low, high = sorted((a, b))
    assert rescaled(low, band, default) <= rescaled(high, band, default) + 1e-12
    assert default.label(rescaled(a, band, default)) == band.label(a)
    assert math.isclose(rescaled(1.0, band, default), 1.0) and math.isclose(rescaled(-1.0, band, default), -1.0)
    assert math.isclose(rescaled(positive, band, default), default.positive)


def test_slot_probabilities_with_a_fitted_band_score_on_the_default_one() -> None:
    polite = {"positive": 0.85, "neutral": 0.1, "negative": 0.05}  # raw 0.8: below the fitted +0.9 edge
    scored = from_probabilities(polite, Thresholds(), Thresholds(0.9, -0.1))
    assert scored.label == "neutral" and 0 < scored.score < 0.33 and scored.probabilities == polite


def test_an_identity_head_changes_no_distribution_and_its_label_is_the_likeliest() -> None:
    identity = Scaling(weights=[[1, 0, 0], [0, 1, 0], [0, 0, 1]], bias=[0, 0, 0])
    leaning = {"positive": 0.3, "neutral": 0.25, "negative": 0.45}
    assert all(math.isclose(identity.apply(leaning)[k], v) for k, v in leaning.items())  # type: ignore[index]
    scored = from_head(leaning, identity, Thresholds())
    assert scored.label == "negative" and scored.score <= -0.33, "the score is held inside the label's band"
    assert scored.probabilities == leaning and math.isclose(scored.confidence, 0.45)


def test_a_head_bias_moves_the_label_where_one_band_cannot() -> None:
    towards_negative = Scaling(weights=[[1, 0, 0], [0, 1, 0], [0, 0, 1]], bias=[0, 0, 0.7])
    worried = {"positive": 0.05, "neutral": 0.6, "negative": 0.35}
    assert from_probabilities(worried, Thresholds()).label == "neutral"
    assert from_head(worried, towards_negative, Thresholds()).label == "negative"


@given(
    st.lists(st.floats(-6, 6), min_size=9, max_size=9),
    st.lists(st.floats(-3, 3), min_size=3, max_size=3),
    st.lists(st.floats(0, 1), min_size=3, max_size=3),
)
def test_a_head_label_always_agrees_with_its_score_band(flat: list[float], bias: list[float], raw: list[float]) -> None:
    head = Scaling(weights=[flat[0:3], flat[3:6], flat[6:9]], bias=bias)
    probabilities = dict(zip(("positive", "neutral", "negative"), raw, strict=True))  # zeros included
    scored = from_head(probabilities, head, Thresholds())  # type: ignore[arg-type]
    assert Thresholds().label(scored.score) == scored.label and 0 <= scored.confidence <= 1


def test_a_head_must_be_three_by_three() -> None:
    with pytest.raises(ValueError, match="3 x 3"):
        Scaling(weights=[[1, 0], [0, 1]], bias=[0, 0])
