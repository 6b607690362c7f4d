"""Cut a call too long for the model's context into overlapping windows. Nothing is dropped.

Each window is a run of whole segments: some leading context (the end of the previous window, so
the first lines of a window are not read cold) and a core that this window, and only this window,
scores. Token counts are estimated on the safe side (3 characters a token for ASCII, a token per
character otherwise); a single segment that cannot fit is an error, never a cut.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from llm_sentiment.errors import CallTooLongError

_ASCII_CHARS_PER_TOKEN = 3.0


def estimate_tokens(text: str) -> int:
    """At least the token count of ``text`` for the BPE tokenizers of current chat models."""
    ascii_chars = sum(1 for ch in text if ord(ch) < 128)
    return math.ceil(ascii_chars / _ASCII_CHARS_PER_TOKEN + (len(text) - ascii_chars)) + 1


@dataclass(frozen=True)
class WindowPlan:
    """Indexes into the segment list: ``[first, core)`` is context, ``[core, end)`` is scored here."""

    first: int
    core: int
    end: int
    tokens: int


def plan_windows(line_tokens: list[int], budget: int, overlap: int) -> list[WindowPlan]:
    """One window when everything fits in ``budget``; else windows whose cores partition the lines."""
    total = sum(line_tokens)
    if total <= budget:
        return [WindowPlan(first=0, core=0, end=len(line_tokens), tokens=total)]
    for index, tokens in enumerate(line_tokens):
        if tokens > budget - overlap:
            raise CallTooLongError(
                f"segment {index + 1} alone needs about {tokens} tokens, more than a window holds ({budget - overlap})",
                hint="Raise LLM_SENTIMENT_N_CTX (or LLM_SENTIMENT_CONTEXT_TOKENS for a remote model), "
                "or split the turn in the transcript.",
            )
    plans: list[WindowPlan] = []
    core = 0
    while core < len(line_tokens):
        first, context = core, 0
        while first > 0 and context + line_tokens[first - 1] <= overlap:
            first -= 1
            context += line_tokens[first]
        end, used = core, context
        while end < len(line_tokens) and used + line_tokens[end] <= budget:
            used += line_tokens[end]
            end += 1
        plans.append(WindowPlan(first=first, core=core, end=end, tokens=used))
        core = end
    return plans
