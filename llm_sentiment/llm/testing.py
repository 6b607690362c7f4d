"""LLM doubles for tests of pipeline logic, no model needed.

``FakeLLM`` is scripted: enqueue answers, then inspect the requests; ``enqueue_slots`` makes it read label
slots like an embedded model (``SlotRequest``), one queued distribution list per request. With ``respond`` it answers
every request nobody enqueued an answer for (``schema_answer`` gives the smallest answer that fits
the request's schema), so service tests and load benchmarks can run any number of jobs; ``delay_s``
makes each answer take that long, like a model that is busy thinking. ``SchemaLLM`` answers any of
our questions from its JSON schema alone, with label logprobs, for calls too long to script.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from .base import LLMRequest, LLMResponse, SlotRequest, SlotResponse, TokenLogprob


def _instance(schema: dict[str, Any]) -> Any:
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        return {name: _instance(sub) for name, sub in schema.get("properties", {}).items()}
    if kind == "array":
        return [_instance(schema.get("items", {}))] * max(1, int(schema.get("minItems", 1)))
    if kind in ("number", "integer"):
        low, high = schema.get("minimum", 0), schema.get("maximum", 1)
        return (low + high) / 2 if kind == "number" else int(low)
    if kind == "boolean":
        return True
    return "ok"


def schema_answer(request: LLMRequest) -> str:
    """The first choice of every enum, mid-range numbers, one array item; plain text without a schema."""
    if request.json_schema is None:
        return "A plain answer."
    return json.dumps(_instance(request.json_schema))


class FakeLLM:
    def __init__(
        self,
        model: str = "fake",
        *,
        respond: Callable[[LLMRequest], str] | None = None,
        delay_s: float = 0.0,
    ) -> None:
        self.model = model
        self.requests: list[LLMRequest] = []
        self.respond = respond
        self.delay_s = delay_s
        self._queue: deque[LLMResponse | Exception] = deque()
        self._slots: deque[list[dict[str, float]] | Exception] = deque()
        self.slot_requests: list[SlotRequest] = []
        self._reads_slots = False
        self._lock = threading.Lock()

    def enqueue(
        self,
        answer: str | dict[str, Any] | Exception,
        *,
        label_probs: dict[str, float] | None = None,
        key_probs: dict[str, dict[str, float]] | None = None,
        prompt_tokens: int = 10,
        completion_tokens: int = 5,
    ) -> FakeLLM:
        """Queue one answer; ``label_probs`` makes it carry logprobs for the ``"label"`` value, ``key_probs``
        for the value of each named key (a batch answer such as ``{"3": "negative"}``)."""
        if isinstance(answer, Exception):
            self._queue.append(answer)
            return self
        content = answer if isinstance(answer, str) else json.dumps(answer)
        probs = key_probs or ({"label": label_probs} if label_probs else None)
        logprobs = _keyed_logprobs(content, probs) if probs else None
        self._queue.append(
            LLMResponse(
                content=content,
                model=self.model,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                logprobs=logprobs,
            )
        )
        return self

    def enqueue_slots(self, answer: list[dict[str, float]] | Exception) -> FakeLLM:
        """Queue what one ``SlotRequest`` reads (a distribution per line) or raises; from then on the model reads
        slots."""
        self._slots.append(answer)
        self._reads_slots = True
        return self

    def reads_slots(self, model: str) -> bool:
        return self._reads_slots

    def score_slots(self, request: SlotRequest) -> SlotResponse:
        with self._lock:
            self.slot_requests.append(request)
            item = self._slots.popleft() if self._slots else AssertionError("FakeLLM: no slots queued")
        if isinstance(item, Exception):
            raise item
        return SlotResponse(model=self.model, probabilities=item, prompt_tokens=10)

    @property
    def pending(self) -> int:
        return len(self._queue) + len(self._slots)

    def complete(self, request: LLMRequest) -> LLMResponse:
        with self._lock:
            self.requests.append(request)
            item = self._queue.popleft() if self._queue else None
        if self.delay_s:
            time.sleep(self.delay_s)
        if item is None:
            if self.respond is None:
                raise AssertionError(f"FakeLLM: no answer queued for request #{len(self.requests)}")
            return LLMResponse(content=self.respond(request), model=self.model, prompt_tokens=10, completion_tokens=5)
        if isinstance(item, Exception):
            raise item
        return item


def _keyed_logprobs(content: str, probs: dict[str, dict[str, float]]) -> list[TokenLogprob]:
    """Tokens as a real tokenizer might split them, with the label alternatives at each value's position."""
    import math

    tokens: list[TokenLogprob] = []
    at = 0
    for key, distribution in probs.items():
        key_at = content.index(json.dumps(key), at)
        value_at = content.index('"', content.index(":", key_at + len(json.dumps(key))) + 1) + 1
        value_end = content.index('"', value_at)
        top = {label: math.log(p) for label, p in distribution.items() if p > 0}
        chosen = content[value_at:value_end]
        tokens.append(TokenLogprob(token=content[at:value_at], logprob=0.0))
        tokens.append(TokenLogprob(token=chosen, logprob=top.get(chosen, -20.0), top=top))
        at = value_end
    tokens.append(TokenLogprob(token=content[at:], logprob=0.0))
    return tokens


PROBS = {
    "negative": {"positive": 0.05, "neutral": 0.15, "negative": 0.8},
    "neutral": {"positive": 0.1, "neutral": 0.8, "negative": 0.1},
    "positive": {"positive": 0.8, "neutral": 0.15, "negative": 0.05},
}


def _first(schema: dict[str, Any]) -> str:
    return str(schema.get("enum", ["(anything)"])[0])


class SchemaLLM:
    """One label for every batch line and label question, the first allowed quote, every statement supported by
    the first line; records each request."""

    def __init__(self, label: str = "neutral") -> None:
        self.label = label
        self.requests: list[LLMRequest] = []

    def complete(self, request: LLMRequest) -> LLMResponse:
        self.requests.append(request)
        schema = request.json_schema or {}
        props: dict[str, Any] = schema.get("properties", {})
        answer: dict[str, Any]
        probs: dict[str, dict[str, float]] | None = None
        if any("supported" in sub.get("properties", {}) for sub in props.values()):
            answer = {key: {"supported": True, "line": _first(sub["properties"]["line"])} for key, sub in props.items()}
        elif schema.get("additionalProperties") is False:
            answer = dict.fromkeys(props, self.label)
            probs = dict.fromkeys(props, PROBS[self.label])
        elif "label" in props:
            answer, probs = {"label": self.label, "confidence": 0.8}, {"label": PROBS[self.label]}
        elif "notes" in props:
            answer = {"notes": "The customer asks about a charge and the agent checks the bill."}
        elif "summary" in props:
            quote = _first(props["quotes"]["items"])
            answer = {"summary": "The customer called about a bill. The agent refunded it.", "quotes": [quote]}
        elif "resolution" in props:
            answer = {"resolution": "resolved", "quote": _first(props["quote"]), "reasoning": "A refund was made."}
        elif "recommendations" in props:
            item = props["recommendations"]["items"]["properties"]
            answer = {
                "recommendations": [
                    {"type": "praise", "recommendation": "Share this call.", "quote": _first(item["quote"])}
                ]
            }
        elif "quotes" in props:
            answer = {"quotes": [_first(props["quotes"]["items"])], "reasoning": "Calm throughout."}
        else:
            answer = {"answer": "A bill.", "quote": _first(props.get("quote", {}))}
        content = json.dumps(answer)
        return LLMResponse(
            content=content,
            model="schema-fake",
            prompt_tokens=sum(len(m.content) // 4 for m in request.messages),
            completion_tokens=len(content) // 4,
            logprobs=_keyed_logprobs(content, probs) if probs else None,
        )
