"""Score bands: where a label's score turns positive or negative, and a prompt version's fitted bands."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .answers import Label


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


class Calibration(BaseModel):
    """Per-model, per-target score bands fitted for one prompt version (its ``calibration.yaml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fitted_on: str = Field(description="What the bands were fitted on, e.g. 'callcenter dev split, 30 calls'.")
    models: dict[str, dict[str, Band]] = Field(
        description="model group -> target (customer/agent/overall; segment: a line's own label as read from "
        "label slots, batch answers keeping the default band) -> band."
    )

    @model_validator(mode="after")
    def _known_targets(self) -> Calibration:
        for model, targets in self.models.items():
            unknown = set(targets) - {"customer", "agent", "overall", "segment"}
            if unknown:
                raise ValueError(f"{model}: unknown targets {sorted(unknown)}")
        return self

    def thresholds(self, model: str, target: str) -> Thresholds | None:
        band = self.models.get(model, {}).get(target)
        return band.thresholds if band else None
