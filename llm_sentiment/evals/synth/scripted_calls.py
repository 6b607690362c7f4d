"""Scripted support calls of any length, with a known sentiment arc, for tests and benchmarks.

A call opens with an annoyed customer, works through the problem, and ends with a relieved one;
each line carries the label a careful human would give it. Timings follow a speaking rate of
about 150 words a minute with short gaps between turns, so the same script can be rendered to
audio or used directly as a timed transcript.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from llm_sentiment.ask.answers import Label
from llm_sentiment.transcript.model import Role, Segment, Transcript

_SECONDS_PER_WORD = 0.4
_GAP_S = 0.6

_OPENING: list[tuple[Role, str, Label]] = [
    ("agent", "Thank you for calling Northwind Energy, this is Priya. How can I help you today?", "neutral"),
    ("customer", "I've been charged twice this month and I'm really fed up with it.", "negative"),
    ("agent", "I'm sorry to hear that. Can I have your account number, please?", "neutral"),
    ("customer", "It's four four seven one nine. This is the third time I've had to call about this.", "negative"),
]
_MIDDLE: list[tuple[Role, str, Label]] = [
    ("agent", "Thank you. I can see the charge for {amount} dollars on the {day}.", "neutral"),
    ("customer", "Right. And what about the one on the {day}?", "neutral"),
    ("agent", "Let me check the billing history for that date.", "neutral"),
    ("customer", "Okay, I'll wait.", "neutral"),
    ("agent", "The meter reading on the {day} was estimated, so the amount was {amount} dollars.", "neutral"),
    ("customer", "That still seems like a lot for one month.", "negative"),
    ("agent", "I understand. I'll compare it with last year's usage for the same month.", "neutral"),
    ("customer", "Fine. Go ahead.", "neutral"),
]
_CLOSING: list[tuple[Role, str, Label]] = [
    ("agent", "Good news, I've refunded the duplicate charge of {amount} dollars and fixed the reading.", "positive"),
    ("customer", "Oh, that's a relief. Thank you so much, I really appreciate it.", "positive"),
    ("agent", "You're welcome! Is there anything else I can help you with today?", "positive"),
    ("customer", "No, that's everything. You've been great, have a lovely day!", "positive"),
]
_DAYS = ["third", "fifth", "ninth", "twelfth", "fifteenth", "twentieth", "twenty-first", "twenty-eighth"]


@dataclass(frozen=True)
class ScriptedLine:
    role: Role
    text: str
    expected: Label
    start: float
    end: float

    @property
    def speaker(self) -> str:
        return "Agent" if self.role == "agent" else "Customer"


def scripted_call(minutes: float, seed: int = 0) -> list[ScriptedLine]:
    """Opening, as many middle exchanges as fill ``minutes``, closing."""
    rng = random.Random(seed)  # noqa: S311 - varied wording, not secrets
    lines: list[ScriptedLine] = []
    at = 0.0

    def say(role: Role, template: str, expected: Label) -> None:
        nonlocal at
        text = template.format(amount=rng.randint(20, 180), day=rng.choice(_DAYS))
        length = round(len(text.split()) * _SECONDS_PER_WORD, 2)
        lines.append(
            ScriptedLine(role=role, text=text, expected=expected, start=round(at, 2), end=round(at + length, 2))
        )
        at += length + _GAP_S

    for line in _OPENING:
        say(*line)
    closing = sum(len(t.split()) * _SECONDS_PER_WORD + _GAP_S for _, t, _ in _CLOSING)
    middle = 0
    while at + closing < minutes * 60 or middle == 0:
        say(*_MIDDLE[middle % len(_MIDDLE)])
        middle += 1
    for line in _CLOSING:
        say(*line)
    return lines


def as_transcript(lines: list[ScriptedLine]) -> Transcript:
    """A timed transcript with speaker labels ``Agent`` and ``Customer``."""
    return Transcript(
        segments=[
            Segment(id=i, speaker=line.speaker, start=line.start, end=line.end, text=line.text)
            for i, line in enumerate(lines, start=1)
        ],
        language="en",
        duration=lines[-1].end if lines else None,
        source_format="json",
    )
