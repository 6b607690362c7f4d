"""The port every LLM backend implements: one request in, one response out.

The analysis pipeline only sees ``LLMClient``; LiteLLM (``router.py``), the response cache
(``cache.py``) and the test double (``fake_llm.py``) are adapters behind it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str


class LLMRequest(BaseModel):
    model: str
    messages: list[ChatMessage]
    json_schema: dict[str, Any] | None = Field(None, description="Constrain the answer to this JSON schema.")
    max_tokens: int = 256
    temperature: float = 0.0
    seed: int = 0
    top_logprobs: int = Field(0, ge=0, le=20, description="Alternatives per generated token; 0 asks for none.")

    def cache_key(self) -> str:
        """Model + messages + schema + generation parameters; never timeouts or retry counts."""
        payload = self.model_dump(mode="json")
        return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class TokenLogprob(BaseModel):
    token: str
    logprob: float
    top: dict[str, float] = Field(default_factory=dict, description="Alternatives at this position, unconstrained.")


class LLMResponse(BaseModel):
    content: str
    model: str = Field(description="The model group that actually answered.")
    fallbacks_tried: list[str] = Field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    logprobs: list[TokenLogprob] | None = None
    cache_hit: bool = False


class LLMClient(Protocol):
    def complete(self, request: LLMRequest) -> LLMResponse: ...


class Probe(BaseModel):
    """A linear readout of the model's last hidden state at a slot: ``softmax(state @ weights + bias)`` over
    the slot's labels, read instead of the next-token distribution there.

    A small model's hidden state where it is about to name a label holds more than the three label tokens'
    logits show; a probe fitted on labeled dev calls (``evals.probe``) reads it. It is tied to one model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    weights: list[list[float]] = Field(description="One row per hidden dimension, one column per label.")
    bias: list[float] = Field(description="One per label.")

    @model_validator(mode="after")
    def _shape(self) -> Probe:
        if not self.weights or any(len(row) != len(self.bias) for row in self.weights):
            raise ValueError(f"every weights row must have {len(self.bias)} columns, one per bias")
        return self

    def distribution(self, state: Sequence[float], labels: Sequence[str]) -> dict[str, float]:
        """The probe's distribution over ``labels`` (in its column order) for one hidden state."""
        if len(state) != len(self.weights) or len(labels) != len(self.bias):
            raise ValueError(
                f"the probe reads {len(self.weights)}-dim states into {len(self.bias)} labels, "
                f"not {len(state)}-dim into {len(labels)}"
            )
        logits = np.asarray(state, dtype=np.float64) @ np.asarray(self.weights) + np.asarray(self.bias)
        shifted = np.exp(logits - logits.max())
        return {label: float(p) for label, p in zip(labels, shifted / shifted.sum(), strict=True)}


class SlotRequest(BaseModel):
    """Label many lines in one pass: after ``messages``, the answer is forced to be ``lines``, each followed
    by a slot where the model's next-token distribution over ``labels`` is read, then the likeliest label.

    No answer is generated, so the cost is reading the lines once (a model able to keep its KV cache reads
    the shared prefix of ``messages`` only once per call)."""

    model: str
    messages: list[ChatMessage]
    lines: list[str] = Field(min_length=1, description="Each line's forced text, up to its slot.")
    labels: list[str] = Field(min_length=2, description="What a slot chooses among; each starts with its own token.")
    probe: Probe | None = Field(None, description="Read each slot with this probe of the hidden state instead.")

    def cache_key(self) -> str:
        payload = self.model_dump(mode="json")
        return hashlib.sha256(
            json.dumps(["slots", payload], sort_keys=True, separators=(",", ":")).encode()
        ).hexdigest()


class SlotResponse(BaseModel):
    model: str = Field(description="The model group that answered.")
    probabilities: list[dict[str, float]] = Field(description="Per line, the distribution over the labels.")
    prompt_tokens: int = 0
    latency_s: float = 0.0
    cache_hit: bool = False


class SlotScoring(Protocol):
    """What a client offers when some of its models read label slots (``SlotRequest``); the embedded ones do."""

    def reads_slots(self, model: str) -> bool: ...

    def score_slots(self, request: SlotRequest) -> SlotResponse: ...


class WrapperLLM:
    """A client around another: it handles what it overrides and forwards everything else (``preload``,
    ``cost``, ...), so no caller ever unwraps a wrapper to reach what it wraps."""

    def __init__(self, inner: LLMClient) -> None:
        self.inner = inner

    def complete(self, request: LLMRequest) -> LLMResponse:
        return self.inner.complete(request)

    def __getattr__(self, name: str) -> Any:
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)


@dataclass
class Generation:
    """One answer of a local model, as the process that runs it reports it."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    logprobs: list[dict[str, Any]] | None


class Sampling(BaseModel):
    """How a local model answers: the schema its grammar is built from, the budget, the decoding settings,
    and the seconds it may take (a duration, not a deadline: it crosses into the model's own process)."""

    json_schema: dict[str, Any] | None = None
    max_tokens: int = 256
    temperature: float = 0.0
    seed: int = 0
    top_logprobs: int = 0
    seconds: float | None = None


class HiddenStates(Protocol):
    """An embedded model loaded in this process, read for its hidden state at each forced line's slot: what a
    probe is fitted on (``evals.fit_probe``)."""

    def read_states(self, messages: list[dict[str, str]], lines: list[str], labels: list[str]) -> list[list[float]]: ...


class LocalModels(Protocol):
    """The embedded models a LiteLLM ``local/<name>`` deployment runs (``llama_cpp.LocalModelPool``)."""

    def load(self, name: str, params: dict[str, Any]) -> None: ...

    def generate(
        self, name: str, params: dict[str, Any], messages: list[dict[str, str]], sampling: Sampling
    ) -> Generation: ...

    def score_slots(
        self,
        name: str,
        params: dict[str, Any],
        messages: list[dict[str, str]],
        slots: Slots,
    ) -> SlotScores: ...


class Slots(BaseModel):
    """A ``SlotRequest``'s forced lines and labels, and the seconds it may take, as the model's process gets them."""

    lines: list[str]
    labels: list[str]
    probe: Probe | None = None
    seconds: float | None = None


class SlotScores(BaseModel):
    """What the model's process reads: per line, the distribution over the labels; and the tokens it took in."""

    probabilities: list[dict[str, float]]
    prompt_tokens: int
