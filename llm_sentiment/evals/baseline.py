"""A non-LLM reference row: the VADER lexicon, per segment, averaged per role.

VADER's own cut-offs (compound >= 0.05 positive, <= -0.05 negative) label each segment and each
role's mean compound; the trend compares the mean of a role's first and last thirds. It is
English-only and has no notion of resolution or quotes: those stay empty.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from llm_sentiment.ask.answers import Label
from llm_sentiment.errors import ConfigError
from llm_sentiment.evals.cases import CaseResult, TargetKey, empty_case
from llm_sentiment.evals.dataset import EvalCall, Trend
from llm_sentiment.transcript.model import Role, Transcript

BASELINE_ID = "baseline:vader"
_CUT = 0.05
_TREND_DELTA = 0.3

Polarity = Callable[[str], float]


def vader_polarity() -> Polarity:
    """VADER's compound score of a text, in [-1, 1] (needs the ``eval`` extra)."""
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    except ImportError:
        raise ConfigError("the VADER baseline needs the eval extra", hint="pip install 'llm-sentiment[eval]'") from None
    analyzer: Any = SentimentIntensityAnalyzer()
    return lambda text: float(analyzer.polarity_scores(text)["compound"])


def label_of(compound: float) -> Label:
    if compound >= _CUT:
        return "positive"
    if compound <= -_CUT:
        return "negative"
    return "neutral"


def trend_of(compounds: Sequence[float]) -> Trend:
    if len(compounds) < 3:
        return "stable"
    third = max(1, len(compounds) // 3)
    head = sum(compounds[:third]) / third
    tail = sum(compounds[-third:]) / third
    if tail - head >= _TREND_DELTA:
        return "improving"
    if head - tail >= _TREND_DELTA:
        return "declining"
    return "stable"


def score_baseline(call: EvalCall, transcript: Transcript, polarity: Polarity) -> CaseResult:
    """``transcript`` is the call as the pipeline loaded it, roles assigned."""
    started = time.perf_counter()
    case = empty_case(call, BASELINE_ID)
    compounds = [polarity(s.text) for s in transcript.segments]
    roles: dict[TargetKey, Role | None] = {"customer": "customer", "agent": "agent", "overall": None}
    for key, role in roles.items():
        own = [c for c, s in zip(compounds, transcript.segments, strict=True) if role is None or s.role == role]
        mean = sum(own) / len(own) if own else 0.0
        case.targets[key] = case.targets[key].model_copy(
            update={
                "predicted": label_of(mean),
                "score": round(mean, 4),
                "predicted_trend": trend_of(own) if role is not None else None,
            }
        )
    case.predicted_segments = [label_of(c) for c in compounds]
    case.wall_s = round(time.perf_counter() - started, 4)
    return case
