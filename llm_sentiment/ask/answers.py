"""What the LLM must answer: output models, their JSON schemas, and user-defined questions."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, Field, RootModel, ValidationError

from llm_sentiment.errors import QuestionsFileError

Label = Literal["positive", "neutral", "negative"]
LABELS: tuple[Label, ...] = ("positive", "neutral", "negative")
Resolution = Literal["resolved", "partial", "unresolved", "unclear"]
RESOLUTIONS: tuple[Resolution, ...] = get_args(Resolution)
"""``partial`` is a ticket, a replacement to wait for, a claim still open: something done while the main
problem remains, as the eval datasets label it. ``unclear``: the transcript does not show how it ended."""
RecommendationType = Literal["escalation", "coaching", "follow_up", "praise"]
_LABELS = list(LABELS)


class LabelAnswer(BaseModel):
    label: Label
    confidence: float = Field(ge=0, le=1)


class EvidenceAnswer(BaseModel):
    quotes: list[str] = Field(min_length=1, description="Line ids.")
    reasoning: str = Field(min_length=1)


class FreeTextAnswer(BaseModel):
    answer: str = Field(min_length=1)
    quote: str


class BatchLabels(RootModel[dict[str, Label | LabelAnswer]]):
    """One label per line id, e.g. ``{"3": "negative", "4": "neutral"}``; with ``{label, confidence}``
    values for providers that return no logprobs."""


class SlotLabels(RootModel[list[Label]]):
    """One label per line, in order, read from label slots rather than written (``analysis.segments``)."""


class SummaryAnswer(BaseModel):
    summary: str = Field(min_length=1)
    quotes: list[str] = Field(min_length=1)


class ResolutionAnswer(BaseModel):
    """Evidence first: the line that shows where the issue stands and what is left to happen, then the status.
    Asked status first, the embedded model answered ``resolved`` for all 175 labeled eval calls it was asked about."""

    quote: str
    reasoning: str = Field(min_length=1)
    resolution: Resolution


class Verdict(BaseModel):
    supported: bool
    line: str = Field(description='The id of the line that supports the statement, or "none".')


class SupportAnswer(RootModel[dict[str, Verdict]]):
    """One verdict per statement key (``S1``… for the summary's sentences, ``R`` for the resolution's reason),
    e.g. ``{"S1": {"supported": true, "line": "7.2"}, "S2": {"supported": false, "line": "none"}}``."""


class RecommendationAnswer(BaseModel):
    type: RecommendationType
    recommendation: str = Field(min_length=1)
    quote: str


class RecommendationsAnswer(BaseModel):
    recommendations: list[RecommendationAnswer] = Field(min_length=1, max_length=3)


class NotesAnswer(BaseModel):
    notes: str = Field(min_length=1)


class SpeakerAnswer(BaseModel):
    speaker: str = Field(min_length=1, description="One of the transcript's speaker labels.")


OUTPUT_MODELS: dict[str, type[BaseModel]] = {
    m.__name__: m
    for m in (
        LabelAnswer,
        EvidenceAnswer,
        FreeTextAnswer,
        BatchLabels,
        SlotLabels,
        SummaryAnswer,
        ResolutionAnswer,
        SupportAnswer,
        RecommendationsAnswer,
        NotesAnswer,
        SpeakerAnswer,
    )
}


def _line_id(ids: list[str]) -> dict[str, Any]:
    """A quote: one of the allowed line ids (``quotes.QuoteMenu``), never the transcript's own text."""
    return {"type": "string", "enum": ids} if ids else {"type": "string", "maxLength": 16}


def _choice(choices: list[str]) -> dict[str, Any]:
    return {"type": "string", "enum": choices}


def label_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "label": {"type": "string", "enum": _LABELS},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        },
        "required": ["label", "confidence"],
    }


def sentences_pattern(least: int, most: int, chars: int) -> str:
    """``least`` to ``most`` sentences of at most ``chars`` characters each, as a JSON-schema pattern."""
    sentence = rf'[^"\\\n.!?]{{1,{chars}}}[.!?]'
    return f"^{sentence}" + f"( {sentence})" * (least - 1) + f"( {sentence})?" * (most - least) + "$"


REASONING_SENTENCES = 2
REASONING_PATTERN = sentences_pattern(1, REASONING_SENTENCES, 300)
"""The evidence's "one or two sentences", enforced in the grammar: the 1.5B model wrote three or more
in half its answers, and each re-ask cost a whole answer. Bounded, so a model that runs on cannot hit
max_tokens inside the string and leave unparseable JSON (seen with the 0.5B model)."""
SUMMARY_PATTERN = sentences_pattern(2, 4, 240)
"""The summary's 2 to 4 sentences, bounded for the same reason: the 0.5B model ran one past 2,000 characters."""
NOTES_MAX_CHARS = 400
"""A window's notes, bounded for the same reason (the 0.5B model ran past its token limit)."""


def evidence_schema(quote_ids: list[str], max_quotes: int) -> dict[str, Any]:
    """Quotes are ids of the speaker's own lines, so a grammar-following model cannot invent one."""
    return {
        "type": "object",
        "properties": {
            "quotes": {"type": "array", "items": _line_id(quote_ids), "minItems": 1, "maxItems": max_quotes},
            "reasoning": {"type": "string", "pattern": REASONING_PATTERN},
        },
        "required": ["quotes", "reasoning"],
    }


def free_text_schema(quote_ids: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"answer": {"type": "string"}, "quote": _line_id(quote_ids)},
        "required": ["answer", "quote"],
    }


def batch_schema(keys: list[str], *, with_confidence: bool = False) -> dict[str, Any]:
    """Exactly these ids, in this order: a grammar-following model can neither skip nor invent one."""
    value = label_schema() if with_confidence else {"type": "string", "enum": _LABELS}
    return {
        "type": "object",
        "properties": dict.fromkeys(keys, value),
        "required": keys,
        "additionalProperties": False,
    }


def summary_schema(quote_ids: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "summary": {"type": "string", "pattern": SUMMARY_PATTERN},
            "quotes": {"type": "array", "items": _line_id(quote_ids), "minItems": 1, "maxItems": 2},
        },
        "required": ["summary", "quotes"],
    }


def resolution_schema(quote_ids: list[str], status: Resolution | None = None) -> dict[str, Any]:
    """In ``ResolutionAnswer``'s order; the reason is bounded like the evidence's (unbounded, written before the
    status, it can run past the answer's token budget). A status already decided is the only one allowed."""
    return {
        "type": "object",
        "properties": {
            "quote": _line_id(quote_ids),
            "reasoning": {"type": "string", "pattern": REASONING_PATTERN},
            "resolution": _choice([status] if status else list(RESOLUTIONS)),
        },
        "required": ["quote", "reasoning", "resolution"],
    }


NO_LINE = "none"
"""What a support verdict names when no transcript line shows the statement."""


def support_schema(keys: list[str], quote_ids: list[str]) -> dict[str, Any]:
    """Exactly these statement keys, each with a verdict and a line id from the quote menu (or ``none``):
    the grammar holds ids, never the transcript's or the summary's text."""
    verdict = {
        "type": "object",
        "properties": {"supported": {"type": "boolean"}, "line": _line_id([*quote_ids, NO_LINE])},
        "required": ["supported", "line"],
    }
    return {
        "type": "object",
        "properties": dict.fromkeys(keys, verdict),
        "required": keys,
        "additionalProperties": False,
    }


def recommendations_schema(quote_ids: list[str]) -> dict[str, Any]:
    item = {
        "type": "object",
        "properties": {
            "type": _choice(["escalation", "coaching", "follow_up", "praise"]),
            "recommendation": {"type": "string"},
            "quote": _line_id(quote_ids),
        },
        "required": ["type", "recommendation", "quote"],
    }
    return {
        "type": "object",
        "properties": {"recommendations": {"type": "array", "items": item, "minItems": 1, "maxItems": 3}},
        "required": ["recommendations"],
    }


def notes_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"notes": {"type": "string", "maxLength": NOTES_MAX_CHARS}},
        "required": ["notes"],
    }


def speaker_schema(speakers: list[str]) -> dict[str, Any]:
    """Speaker labels of voices we told apart ourselves (``Speaker 1``); ``grammar`` escapes any label."""
    return {"type": "object", "properties": {"speaker": _choice(speakers)}, "required": ["speaker"]}


class UserQuestion(BaseModel):
    """The LLM-gateway recipe's question shape."""

    question: str = Field(min_length=1)
    context: str | None = None
    answer_format: str | None = None
    id: str | None = None


class _QuestionsFile(BaseModel):
    questions: list[UserQuestion] = Field(min_length=1)


def load_questions(path: Path) -> list[UserQuestion]:
    """A YAML list of questions, or a mapping with a ``questions`` list."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise QuestionsFileError(f"cannot read questions file {path}: {exc.strerror}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise QuestionsFileError(f"questions file {path} is not valid UTF-8 YAML: {exc}") from None
    try:
        parsed = _QuestionsFile.model_validate({"questions": raw} if isinstance(raw, list) else raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise QuestionsFileError(
            f"questions file {path}: {where}: {first['msg']}",
            hint="Each question needs `question`; `context` and `answer_format` are optional.",
        ) from None
    return number_questions(parsed.questions)


def number_questions(questions: list[UserQuestion]) -> list[UserQuestion]:
    """Give each question without an id the id ``q<n>`` (its 1-based position)."""
    return [q.model_copy(update={"id": q.id or f"q{i + 1}"}) for i, q in enumerate(questions)]
