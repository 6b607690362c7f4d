"""Score bands: where a label's score turns positive or negative, and a prompt version's fitted bands and
label heads."""

from __future__ import annotations

import math
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, model_validator

from llm_sentiment.llm.base import Probe

from .answers import LABELS, Label


@dataclass(frozen=True)
class Thresholds:
    positive: float = 0.33
    negative: float = -0.33

    def label(self, score: float) -> Label:
        if score >= self.positive:
            return "positive"
        if score <= self.negative:
            return "negative"
        return "neutral"


class Band(BaseModel):
    """One target's score band edges: ``score >= positive`` is positive, ``score <= negative`` negative."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    positive: float = Field(gt=0, lt=1)
    negative: float = Field(gt=-1, lt=0)

    @property
    def thresholds(self) -> Thresholds:
        return Thresholds(positive=self.positive, negative=self.negative)


class Scaling(BaseModel):
    """A label head fitted on dev: ``softmax(weights @ log p + bias)`` over the labels in ``LABELS`` order.

    One band on P(positive) - P(negative) cannot use P(negative) rising while P(positive) stays put, and
    the model leans differently per class; a full affine map of the log-probabilities ("matrix scaling")
    can. The identity matrix and zero bias change nothing."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    weights: list[list[float]] = Field(description="3 x 3, row = the calibrated label, column = the model's.")
    bias: list[float] = Field(description="One per label.")

    @model_validator(mode="after")
    def _shape(self) -> Scaling:
        size = len(LABELS)
        if len(self.weights) != size or any(len(row) != size for row in self.weights) or len(self.bias) != size:
            raise ValueError(f"weights must be {size} x {size} and bias {size} long (labels {', '.join(LABELS)})")
        return self

    def apply(self, probabilities: dict[Label, float]) -> dict[Label, float]:
        logs = log_probabilities(probabilities)
        logits = [
            sum(w * x for w, x in zip(row, logs, strict=True)) + b
            for row, b in zip(self.weights, self.bias, strict=True)
        ]
        peak = max(logits)
        weights = [math.exp(z - peak) for z in logits]
        total = sum(weights)
        return {label: w / total for label, w in zip(LABELS, weights, strict=True)}


def log_probabilities(probabilities: dict[Label, float]) -> list[float]:
    """What a head reads, in ``LABELS`` order: each label's log-probability, floored at 1e-6 (log 0 would make
    one missing label decide everything)."""
    return [math.log(min(1.0, max(1e-6, probabilities[label]))) for label in LABELS]


class Calibration(BaseModel):
    """Per-model, per-target score bands, label heads and probes fitted for one prompt version (its
    ``calibration.yaml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fitted_on: str = Field(description="What the bands were fitted on, e.g. 'callcenter dev split, 30 calls'.")
    models: dict[str, dict[str, Band]] = Field(
        description="model group -> target (customer/agent/overall; segment: a line's own label as read from "
        "label slots, batch answers keeping the default band) -> band."
    )

    scaling: dict[str, dict[str, Scaling]] = Field(
        default_factory=dict,
        description="model group -> target (customer/agent/overall) -> label head; where one is given, the "
        "target's label is the head's likeliest class and its band is not used.",
    )

    probes: dict[str, dict[str, Probe]] = Field(
        default_factory=dict,
        description="model group -> target (customer; resolution: read at the customer's label slot) -> probe "
        "of the model's hidden state where it names the label; where one is given and the model reads slots, it "
        "decides the target's label (before any head) or the resolution's status.",
    )

    @model_validator(mode="after")
    def _known_targets(self) -> Calibration:
        for model, targets in self.models.items():
            unknown = set(targets) - {"customer", "agent", "overall", "segment"}
            if unknown:
                raise ValueError(f"{model}: unknown targets {sorted(unknown)}")
        roles = {"customer", "agent", "overall"}
        named = [("a label head", model, set(heads), roles) for model, heads in self.scaling.items()]
        named += [("a probe", model, set(probes), {*roles, "resolution"}) for model, probes in self.probes.items()]
        for what, model, named_targets, known in named:
            unknown = named_targets - known
            if unknown:
                raise ValueError(f"{model}: unknown targets for {what} {sorted(unknown)}")
        return self

    def thresholds(self, model: str, target: str) -> Thresholds | None:
        band = self.models.get(model, {}).get(target)
        return band.thresholds if band else None

    def head(self, model: str, target: str) -> Scaling | None:
        return self.scaling.get(model, {}).get(target)

    def probe(self, model: str, target: str) -> Probe | None:
        return self.probes.get(model, {}).get(target)
