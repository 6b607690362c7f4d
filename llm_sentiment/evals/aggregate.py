"""From scored cases to the metrics of one slice (all calls, one split, one tag): pure functions."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pydantic import BaseModel, Field

from llm_sentiment.ask.answers import LABELS
from llm_sentiment.evals.cases import TARGETS, CaseResult, TargetKey
from llm_sentiment.evals.dataset import RESOLUTIONS, TRENDS
from llm_sentiment.evals.metrics.accuracy import accuracy
from llm_sentiment.evals.metrics.confusion import Matrix, confusion_matrix
from llm_sentiment.evals.metrics.f1 import ClassScores, macro_f1, per_class
from llm_sentiment.evals.metrics.kappa import cohen_kappa
from llm_sentiment.evals.metrics.regression import score_mae
from llm_sentiment.evals.metrics.summary import mean, percentile, rate

Cost = Callable[[str, int, int], float | None]
"""(model, prompt tokens, completion tokens) -> USD, or None when the price is unknown."""


class Confusion(BaseModel):
    labels: list[str]
    matrix: Matrix = Field(description="Rows: gold; columns: predicted.")


class LabelMetrics(BaseModel):
    n: int
    accuracy: float | None
    macro_f1: float | None
    kappa: float | None
    per_class: dict[str, ClassScores]
    confusion: Confusion


class TargetMetrics(LabelMetrics):
    score_mae: float | None = Field(description="MAE of scores against gold mapped to +1/0/-1.")
    trend: LabelMetrics | None = Field(None, description="Per-role trend (customer and agent only).")


class QuoteMetrics(BaseModel):
    returned: int
    grounded: int
    dropped: int
    grounding_rate: float | None = Field(description="Grounded / (returned + dropped by the pipeline).")
    targets_with_quotes: float | None


class AnswerMetrics(BaseModel):
    questions: int
    schema_valid_rate: float | None
    reasks_per_answer: float | None


class LatencyMetrics(BaseModel):
    measured_questions: int = Field(description="Answers computed in this run (cache hits excluded).")
    question_p50_s: float | None
    question_p95_s: float | None
    measured_calls: int = Field(description="Calls with no cached answer.")
    call_p50_s: float | None
    call_p95_s: float | None


class UsageMetrics(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None = Field(description="LiteLLM's price map; 0 for local models; None if unpriced.")
    cache_hit_rate: float | None


class SliceMetrics(BaseModel):
    calls: int
    errors: int
    customer: TargetMetrics
    agent: TargetMetrics
    overall: TargetMetrics
    resolution: LabelMetrics | None
    segments: LabelMetrics | None
    quotes: QuoteMetrics | None
    answers: AnswerMetrics | None
    latency: LatencyMetrics | None
    usage: UsageMetrics | None


def label_metrics(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> LabelMetrics:
    matrix = confusion_matrix(gold, predicted, labels)
    return LabelMetrics(
        n=len(gold),
        accuracy=accuracy(matrix),
        macro_f1=macro_f1(matrix, labels),
        kappa=cohen_kappa(matrix),
        per_class=per_class(matrix, labels),
        confusion=Confusion(labels=list(labels), matrix=matrix),
    )


def _target(cases: Sequence[CaseResult], key: TargetKey) -> TargetMetrics:
    """Over the calls with a gold label and a prediction for ``key``: a target the dataset leaves unlabeled is
    skipped, not counted wrong."""
    scored = [(t.gold, t) for t in (c.targets[key] for c in cases) if t.gold is not None and t.predicted is not None]
    gold = [g for g, _ in scored]
    predicted = [t.predicted for _, t in scored if t.predicted is not None]
    base = label_metrics(gold, predicted, LABELS)
    with_scores = [(g, t.score) for g, t in scored if t.score is not None]
    trended = [t for _, t in scored if t.gold_trend is not None and t.predicted_trend is not None]
    return TargetMetrics(
        **base.model_dump(),
        score_mae=score_mae([g for g, _ in with_scores], [s for _, s in with_scores]),
        trend=label_metrics(
            [t.gold_trend for t in trended if t.gold_trend],
            [t.predicted_trend for t in trended if t.predicted_trend],
            TRENDS,
        )
        if trended
        else None,
    )


def _resolution(cases: Sequence[CaseResult]) -> LabelMetrics | None:
    """Over the calls with a gold resolution and a predicted one."""
    gold: list[str] = []
    predicted: list[str] = []
    for case in cases:
        if case.gold_resolution is not None and case.predicted_resolution is not None:
            gold.append(case.gold_resolution)
            predicted.append(case.predicted_resolution)
    return label_metrics(gold, predicted, RESOLUTIONS) if gold else None


def _segments(cases: Sequence[CaseResult]) -> LabelMetrics | None:
    """Pooled over every labeled segment of every call whose prediction covers the same segments."""
    gold: list[str] = []
    predicted: list[str] = []
    for case in cases:
        if case.gold_segments is None or case.predicted_segments is None:
            continue
        if len(case.gold_segments) != len(case.predicted_segments):
            continue  # a transcription that split or merged turns: not comparable segment by segment
        gold.extend(case.gold_segments)
        predicted.extend(case.predicted_segments)
    return label_metrics(gold, predicted, LABELS) if gold else None


def _quotes(cases: Sequence[CaseResult]) -> QuoteMetrics | None:
    targets = [t for c in cases if c.error is None for t in c.targets.values() if t.predicted is not None]
    returned = sum(len(t.quotes) for t in targets)
    dropped = sum(t.dropped_quotes for t in targets)
    if returned + dropped == 0:
        return None
    grounded = sum(q.grounded for t in targets for q in t.quotes)
    return QuoteMetrics(
        returned=returned,
        grounded=grounded,
        dropped=dropped,
        grounding_rate=rate(grounded, returned + dropped),
        targets_with_quotes=rate(sum(1 for t in targets if t.quotes), len(targets)),
    )


def _answers(cases: Sequence[CaseResult]) -> AnswerMetrics | None:
    questions = [q for c in cases for q in c.questions]
    if not questions:
        return None
    return AnswerMetrics(
        questions=len(questions),
        schema_valid_rate=rate(sum(q.valid for q in questions), len(questions)),
        reasks_per_answer=mean([q.asks - 1 for q in questions]),
    )


def _latency(cases: Sequence[CaseResult]) -> LatencyMetrics | None:
    questions = [q for c in cases for q in c.questions]
    if not questions:
        return None
    measured = [q.latency_s for q in questions if not q.cache_hit]
    cold_calls = [
        c.wall_s for c in cases if c.questions and c.error is None and not any(q.cache_hit for q in c.questions)
    ]
    return LatencyMetrics(
        measured_questions=len(measured),
        question_p50_s=percentile(measured, 50),
        question_p95_s=percentile(measured, 95),
        measured_calls=len(cold_calls),
        call_p50_s=percentile(cold_calls, 50),
        call_p95_s=percentile(cold_calls, 95),
    )


def _usage(cases: Sequence[CaseResult], cost: Cost) -> UsageMetrics | None:
    questions = [q for c in cases for q in c.questions]
    if not questions:
        return None
    prices = [cost(q.model_used, q.prompt_tokens, q.completion_tokens) for q in questions]
    return UsageMetrics(
        prompt_tokens=sum(q.prompt_tokens for q in questions),
        completion_tokens=sum(q.completion_tokens for q in questions),
        cost_usd=None if any(p is None for p in prices) else round(sum(p or 0.0 for p in prices), 6),
        cache_hit_rate=rate(sum(q.cache_hit for q in questions), len(questions)),
    )


def slice_metrics(cases: Sequence[CaseResult], cost: Cost) -> SliceMetrics:
    """Every metric over ``cases`` (one configuration). Errored calls count in ``errors`` only."""
    ok = [c for c in cases if c.error is None]
    targets = {key: _target(ok, key) for key in TARGETS}
    return SliceMetrics(
        calls=len(cases),
        errors=len(cases) - len(ok),
        customer=targets["customer"],
        agent=targets["agent"],
        overall=targets["overall"],
        resolution=_resolution(ok),
        segments=_segments(ok),
        quotes=_quotes(ok),
        answers=_answers(cases),
        latency=_latency(ok),
        usage=_usage(cases, cost),
    )
