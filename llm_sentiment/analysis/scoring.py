"""Label, score and confidence: one consistent triple, from token probabilities when we have them."""

from __future__ import annotations

import bisect
import json
import math
from dataclasses import dataclass

from llm_sentiment.ask.answers import LABELS, Label
from llm_sentiment.ask.calibration import Scaling, Thresholds
from llm_sentiment.llm.base import TokenLogprob

from .result import ConfidenceSource

_MIN_LABEL_MASS = 0.05


@dataclass(frozen=True)
class Scored:
    label: Label
    score: float
    confidence: float
    source: ConfidenceSource
    probabilities: dict[Label, float] | None


def label_probabilities(
    content: str, logprobs: list[TokenLogprob] | None, key: str = "label"
) -> dict[Label, float] | None:
    """Distribution over the labels at the token where the ``key`` value starts.

    Each alternative token counts for the one label it can begin (after the characters the chosen
    token shares with the text before the value, such as an opening quote). Tokens that fit several
    labels or none are ignored; the rest is renormalised. None when too little mass is left.
    """
    return keyed_label_probabilities(content, logprobs, [key])[key]


def keyed_label_probabilities(
    content: str, logprobs: list[TokenLogprob] | None, keys: list[str]
) -> dict[str, dict[Label, float] | None]:
    """``label_probabilities`` for each of ``keys`` of one JSON answer, looked up in order.

    For batch answers such as ``{"3": "negative", "4": "neutral"}``: each key is found (JSON-encoded)
    after the previous one, so a key can never match inside an earlier value.
    """
    found: dict[str, dict[Label, float] | None] = dict.fromkeys(keys)
    if not logprobs:
        return found
    starts = _token_starts(logprobs)
    at = 0
    for key in keys:
        key_at = content.find(json.dumps(key, ensure_ascii=False), at)
        if key_at < 0:
            key_at = content.find(json.dumps(key), at)
        if key_at < 0:
            continue
        colon = content.find(":", key_at + len(json.dumps(key, ensure_ascii=False)) - 1)
        if colon < 0:
            continue
        if content[colon + 1 :].lstrip().startswith("{"):  # {"7": {"label": "negative", ...}}
            colon = content.find(":", content.find('"label"', colon))
        value_at = content.find('"', colon) + 1 if colon >= 0 else 0
        if colon < 0 or value_at <= 0:
            continue
        at = value_at
        index = bisect.bisect_right(starts, value_at) - 1
        if index < 0 or index >= len(logprobs):
            continue
        offset = starts[index]
        found[key] = _fold(logprobs[index], content[offset:value_at])
    return found


def _token_starts(logprobs: list[TokenLogprob]) -> list[int]:
    """Character offset of each token in the answer text."""
    starts = []
    offset = 0
    for entry in logprobs:
        starts.append(offset)
        offset += len(entry.token)
    return starts


def _fold(entry: TokenLogprob, lead: str) -> dict[Label, float] | None:
    mass: dict[Label, float] = dict.fromkeys(LABELS, 0.0)
    alternatives = entry.top or {entry.token: entry.logprob}
    for token, logprob in alternatives.items():
        if lead and not token.startswith(lead):
            continue
        piece = token[len(lead) :].strip().lower()
        matches = [label for label in LABELS if piece and label.startswith(piece)]
        if len(matches) == 1:
            mass[matches[0]] += math.exp(logprob)
    total = sum(mass.values())
    if total < _MIN_LABEL_MASS:
        return None
    return {label: round(p / total, 4) for label, p in mass.items()}


def from_probabilities(
    probabilities: dict[Label, float], thresholds: Thresholds, calibrated: Thresholds | None = None
) -> Scored:
    """score = P(positive) - P(negative); the label is the score's band, so the two always agree.

    With ``calibrated`` (a band fitted on dev for these raw scores) the score is first mapped so that band
    lands on ``thresholds`` (``rescaled``): what is downstream (tallies, minutes, trends) reads calibrated
    scores against the one band it knows."""
    score = max(-1.0, min(1.0, probabilities["positive"] - probabilities["negative"]))
    if calibrated is not None:
        score = rescaled(score, calibrated, thresholds)
    label = thresholds.label(score)
    return Scored(
        label=label,
        score=round(score, 4),
        confidence=round(probabilities[label], 4),
        source="logprobs",
        probabilities=probabilities,
    )


def from_head(probabilities: dict[Label, float], head: Scaling, thresholds: Thresholds) -> Scored:
    """The label is the likeliest class of the head's calibrated distribution, its confidence that class's
    calibrated probability. ``probabilities`` stay the model's own (what a head is fitted on)."""
    return _decided(head.apply(probabilities), "logprobs", probabilities, thresholds)


def from_probe(probed: dict[Label, float], probabilities: dict[Label, float] | None, thresholds: Thresholds) -> Scored:
    """The label is the likeliest class of a probe's distribution (``Probe``), its confidence that class's
    probability; ``probabilities`` stay the model's own label distribution, when it gave one."""
    return _decided(probed, "probe", probabilities, thresholds)


def _decided(
    decided: dict[Label, float],
    source: ConfidenceSource,
    probabilities: dict[Label, float] | None,
    thresholds: Thresholds,
) -> Scored:
    """The score is ``decided``'s P(positive) - P(negative), held inside its likeliest label's band, so label
    and score still agree."""
    label = max(LABELS, key=lambda name: decided[name])
    score = max(-1.0, min(1.0, decided["positive"] - decided["negative"]))
    if label == "positive":
        score = max(score, thresholds.positive)
    elif label == "negative":
        score = min(score, thresholds.negative)
    else:
        score = min(max(score, thresholds.negative + _INSIDE), thresholds.positive - _INSIDE)
    return Scored(
        label=label,
        score=round(score, 4),
        confidence=round(decided[label], 4),
        source=source,
        probabilities=probabilities,
    )


_INSIDE = 1e-3
"""How far inside the neutral band a neutral head label's score is held (the band's edges are not neutral)."""


def rescaled(score: float, source: Thresholds, target: Thresholds) -> float:
    """Piecewise-linear and monotone: ``source``'s edges go to ``target``'s, -1 and 1 stay, so a score's
    label in ``target`` is its label in ``source``."""
    if score >= source.positive:
        return target.positive + (score - source.positive) / (1 - source.positive) * (1 - target.positive)
    if score <= source.negative:
        return target.negative - (source.negative - score) / (1 + source.negative) * (1 + target.negative)
    share = (score - source.negative) / (source.positive - source.negative)
    return target.negative + share * (target.positive - target.negative)


def from_model(label: Label, confidence: float, thresholds: Thresholds) -> Scored:
    """Without logprobs: place the model's own confidence inside its label's score band."""
    confidence = max(0.0, min(1.0, confidence))
    if label == "positive":
        score = thresholds.positive + (1 - thresholds.positive) * confidence
    elif label == "negative":
        score = thresholds.negative - (1 + thresholds.negative) * confidence
    else:
        score = 0.0
    return Scored(
        label=label, score=round(score, 4), confidence=round(confidence, 4), source="model", probabilities=None
    )
