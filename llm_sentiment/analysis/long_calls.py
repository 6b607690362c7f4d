"""A call too long for the model's context: cut into overlapping windows and read window by window.

Each window is a run of whole segments: some leading context (the end of the previous window, so
the first lines of a window are not read cold) and a core that this window, and only this window,
scores. Token counts are estimated on the safe side (3 characters a token for ASCII, a token per
character otherwise); a single segment that cannot fit is an error, never a cut.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from llm_sentiment.ask.prompts import DigestPart, Part, PromptSet
from llm_sentiment.errors import CallTooLongError, ConfigError
from llm_sentiment.transcript.model import Transcript
from llm_sentiment.transcript.units import Unit

from .questions import Scope
from .result import SegmentSentiment, Window

_ASCII_CHARS_PER_TOKEN = 3.0
_MIN_WINDOW_TOKENS = 256
_DIGEST_LINES_PER_ROLE = 3
_DIGEST_FINAL_LINES = 4


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


def fit_windows(
    transcript: Transcript, lines: list[Unit], prompts: PromptSet, *, context_window: int, overlap: float, reserve: int
) -> list[WindowPlan]:
    """One window when the call fits the context, else overlapping windows of whole segments.

    ``reserve`` is the room left in each window for the longest question and its answer."""
    # The system message without its lines, with the longest part note a window can carry.
    frame = prompts.system_message([], Part(99, 99, 99999))
    budget = context_window - estimate_tokens(frame.content) - reserve
    if budget < _MIN_WINDOW_TOKENS:
        raise ConfigError(
            f"a context of {context_window} tokens leaves no room for the transcript after the instructions and "
            "the answer",
            hint="Raise LLM_SENTIMENT_N_CTX (or LLM_SENTIMENT_CONTEXT_TOKENS for a remote model).",
        )
    shown: dict[int, int] = {}
    for unit in lines:
        line = f"[{unit.key}] {(unit.segment.role or 'unknown').upper()}: {unit.text}\n"
        shown[unit.segment.id] = shown.get(unit.segment.id, 0) + estimate_tokens(line)
    return plan_windows([shown[s.id] for s in transcript.segments], budget, int(budget * overlap))


Score = Callable[[Scope, list[Unit]], list[SegmentSentiment]]
"""Scores a window's own lines against its scope."""
Note = Callable[[Scope, str], str]
"""Writes the notes on a window's span (``lines [12] to [40]``)."""


def read_in_windows(
    transcript: Transcript, plans: list[WindowPlan], lines: list[Unit], prompts: PromptSet, *, score: Score, note: Note
) -> tuple[list[SegmentSentiment], Scope, list[Window]]:
    """Map: each window scores its core lines and writes notes. Reduce: a digest scope of every window's notes,
    its most telling lines and the call's final lines, for the questions asked once about the whole call."""
    scored: list[SegmentSentiment] = []
    digest: list[DigestPart] = []
    windows: list[Window] = []
    segments = transcript.segments
    for index, plan in enumerate(plans, start=1):
        shown = segments[plan.first : plan.end]
        core = segments[plan.core : plan.end]
        context_until = segments[plan.core - 1].id if plan.core > plan.first else None
        part = Part(index=index, count=len(plans), context_until=context_until)
        shown_ids = {s.id for s in shown}
        window_lines = [u for u in lines if u.segment.id in shown_ids]
        scope = Scope(
            system=prompts.system_message(window_lines, part), segments=shown, lines=window_lines, window=index
        )
        windows.append(
            Window(
                index=index,
                first_segment=shown[0].id,
                core_segment=core[0].id,
                last_segment=core[-1].id,
                estimated_tokens=plan.tokens,
            )
        )
        core_ids = {s.id for s in core}
        own = score(scope, [u for u in lines if u.segment.id in core_ids])
        scored.extend(own)
        notes = note(scope, f"lines [{core[0].id}] to [{core[-1].id}]")
        final_ids = {s.id for s in segments[-_DIGEST_FINAL_LINES:]} if index == len(plans) else set()
        final = [u for u in lines if u.segment.id in final_ids]
        digest.append(
            DigestPart(
                index=index, start=core[0].start, end=core[-1].end, notes=notes, lines=telling_lines(own, final, lines)
            )
        )
    told = [line for part in digest for line in part.lines]
    turns = [u.segment.model_copy(update={"text": u.text}) for u in told]
    return scored, Scope(system=prompts.digest_message(digest), segments=turns, lines=told), windows


def telling_lines(scored: list[SegmentSentiment], final: list[Unit], lines: list[Unit]) -> list[Unit]:
    """A window's most emotional lines per role, plus the call's final lines, in transcript order."""
    by_id = {u.id: u for u in lines}
    picked = {u.id: u for u in final}
    for role in ("customer", "agent"):
        own = [s for s in scored if s.role == role]
        for s in sorted(own, key=lambda s: -abs(s.score))[:_DIGEST_LINES_PER_ROLE]:
            picked[s.id] = by_id[s.id]
    return [picked[i] for i in sorted(picked)]
