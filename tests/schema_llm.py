"""An LLM double that answers any of our questions from its JSON schema alone, for calls too long to script.

It gives every batch line one label, every label question one label, picks the first allowed
quote, and records each request, so tests can check what was asked (windows, prefixes, sizes).
"""

from __future__ import annotations

import json
from typing import Any

from llm_sentiment.llm.base import LLMRequest, LLMResponse
from llm_sentiment.llm.testing import _keyed_logprobs

PROBS = {
    "negative": {"positive": 0.05, "neutral": 0.15, "negative": 0.8},
    "neutral": {"positive": 0.1, "neutral": 0.8, "negative": 0.1},
    "positive": {"positive": 0.8, "neutral": 0.15, "negative": 0.05},
}


def _first(schema: dict[str, Any]) -> str:
    return str(schema.get("enum", ["(anything)"])[0])


class SchemaLLM:
    def __init__(self, label: str = "neutral") -> None:
        self.label = label
        self.requests: list[LLMRequest] = []

    def complete(self, request: LLMRequest) -> LLMResponse:
        self.requests.append(request)
        schema = request.json_schema or {}
        props: dict[str, Any] = schema.get("properties", {})
        answer: dict[str, Any]
        probs: dict[str, dict[str, float]] | None = None
        if schema.get("additionalProperties") is False:
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
