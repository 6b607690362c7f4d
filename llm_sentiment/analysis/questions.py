"""Every question an analysis asks, as a row: its template, answer model, schema, token budget and check.

The analyzer, the segment scorer and the long-call reader ask rows through one call site
(``ask_row``); ``prompts render`` (``question_messages``), the step count behind progress bars and
each template's ``output:`` front matter derive from the same rows, so none of them can drift.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from llm_sentiment.ask.answers import (
    NO_LINE,
    REASONING_SENTENCES,
    BatchLabels,
    EvidenceAnswer,
    FreeTextAnswer,
    LabelAnswer,
    NotesAnswer,
    RecommendationsAnswer,
    Resolution,
    ResolutionAnswer,
    SummaryAnswer,
    SupportAnswer,
    UserQuestion,
    batch_schema,
    evidence_schema,
    free_text_schema,
    label_schema,
    notes_schema,
    recommendations_schema,
    resolution_schema,
    summary_schema,
    support_schema,
)
from llm_sentiment.ask.asking import Answered, ask, rejected_turns
from llm_sentiment.ask.prompts import PromptSet, role_rows
from llm_sentiment.errors import TemplateError
from llm_sentiment.llm.base import ChatMessage, LLMClient
from llm_sentiment.transcript.model import Role, Segment, Transcript
from llm_sentiment.transcript.text import split_sentences
from llm_sentiment.transcript.units import Unit, sentiment_units

from .faithfulness import Claim
from .grounding import QuoteMenu, quote_menu, ungrounded

T = TypeVar("T", bound=BaseModel)

TOP_LOGPROBS = 10
SEGMENT_QUESTION_ID = "segment_sentiment"
SEGMENT_REPAIR_ID = "segment_sentiment_repair"


@dataclass(frozen=True)
class Scope:
    """A shared system message, the lines it shows (what quotes may name), and the turns they come from."""

    system: ChatMessage
    segments: list[Segment]
    lines: list[Unit]
    window: int | None = None


@dataclass(frozen=True)
class Rejected:
    """An earlier answer to the same question and why it was turned down, when a later step (not the ask
    loop's own check) turns it down: the question is asked again with both appended."""

    answer: str
    problem: str


@dataclass(frozen=True)
class Situation:
    """What one question is asked about: its scope, and what earlier steps decided."""

    scope: Scope
    label: str = "neutral"
    question: UserQuestion | None = None
    findings: tuple[str, ...] = ()
    batch: tuple[Unit, ...] = ()
    with_confidence: bool = False
    span: str = ""
    max_quotes: int = 3
    claims: tuple[Claim, ...] = ()
    rejected: Rejected | None = None
    judged: tuple[tuple[str, str], ...] = ()
    """What the analysis already judged, ``(role, label)``: the summary must not contradict it."""
    status: Resolution | None = None
    """The resolution status a probe already decided: the resolution question then asks for its evidence, and the
    summary is told it, so the two do not disagree."""


@dataclass(frozen=True)
class Question(Generic[T]):
    """One question: ``id`` names it in provenance, ``template`` in the prompt set."""

    id: str
    template: str
    output: type[T]
    max_tokens: Callable[[Situation], int]
    schema: Callable[[Situation], dict[str, Any]]
    variables: Callable[[Situation], dict[str, Any]] = field(default=lambda _s: {})
    check: Callable[[T, Situation], str | None] | None = None
    top_logprobs: int = 0

    def messages(self, prompts: PromptSet, situation: Situation) -> list[ChatMessage]:
        """The shared system message (or the short one the template names), then the question (and, asked
        again, the rejected answer and why)."""
        system = prompts.system_for(self.template, situation.scope.system)
        asked = prompts.ask(system, self.template, **self.variables(situation))
        rejected = situation.rejected
        return [*asked, *rejected_turns(rejected.answer, rejected.problem)] if rejected else asked


def ask_row(
    llm: LLMClient,
    prompts: PromptSet,
    question: Question[T],
    situation: Situation,
    *,
    model: str,
    max_reasks: int,
    question_id: str | None = None,
) -> Answered[T]:
    """The one place a row is asked: its messages, schema, budget and check, re-asked on failure."""
    check = question.check
    return ask(
        llm,
        model=model,
        question_id=question_id or question.id,
        template=prompts[question.template],
        messages=question.messages(prompts, situation),
        output=question.output,
        schema=question.schema(situation),
        max_tokens=question.max_tokens(situation),
        max_reasks=max_reasks,
        top_logprobs=question.top_logprobs,
        check=(lambda answer: check(answer, situation)) if check else None,
    )


def _tokens(count: int) -> Callable[[Situation], int]:
    return lambda _situation: count


def sentence_count_problem(text: str, what: str, low: int, high: int) -> str | None:
    count = len(split_sentences(text))
    return None if low <= count <= high else f"the {what} has {count} sentences; write {low} to {high}"


@dataclass(frozen=True)
class Target:
    """What a label and its evidence are about: a role's own lines, or the call as a whole."""

    key: str
    role: Role | None
    subject: str
    speaker_clause: str


TARGETS = (
    Target("customer", "customer", "the CUSTOMER", "spoken by the CUSTOMER"),
    Target("agent", "agent", "the AGENT", "spoken by the AGENT"),
    Target("overall", None, "the call as a whole", "from the transcript"),
)


LABEL_ANSWER_START = '{"label": "'
"""How a label answer starts (the JSON its grammar allows): a probe reads the model's hidden state right after
it, where the next token names the label (``Analyzer._probe``, ``evals.probe``)."""

PROBED_STATUSES: tuple[Resolution, ...] = ("resolved", "partial", "unresolved")
"""What the resolution probe chooses among; ``unclear`` is what an unsupported reason makes a status, not a
class any dataset labels."""

STATUS_PROBE_AT = "customer_sentiment"
"""The label question at whose slot the resolution probe reads the hidden state: the customer's, whose own
lines say whether their issue is settled ("it works now, thanks" / "so I just wait again?"). Read right after
that question, its prompt is still in the model's KV cache, so the status costs a few tokens, not a second
reading of the call."""


def _label(target: Target) -> Question[LabelAnswer]:
    return Question(
        id=f"{target.key}_sentiment",
        template=f"{target.key}_sentiment",
        output=LabelAnswer,
        max_tokens=_tokens(24),
        schema=lambda _s: label_schema(),
        variables=lambda s: {
            "lines": role_rows(s.scope.segments, target.role),
            "call": role_rows(s.scope.segments, None),  # for a version that judges a role in context
        },
        top_logprobs=TOP_LOGPROBS,
    )


def _evidence(target: Target) -> Question[EvidenceAnswer]:
    def schema(s: Situation) -> dict[str, Any]:
        return evidence_schema(quote_menu(s.scope.lines, target.role).ids, s.max_quotes)

    def check(answer: EvidenceAnswer, s: Situation) -> str | None:
        return ungrounded(answer.quotes, quote_menu(s.scope.lines, target.role), target.subject) or (
            sentence_count_problem(answer.reasoning, "reasoning", 1, REASONING_SENTENCES)
        )

    return Question(
        id=f"{target.key}_evidence",
        template="evidence",
        output=EvidenceAnswer,
        max_tokens=_tokens(320),
        schema=schema,
        variables=lambda s: {
            "subject": target.subject,
            "label": s.label,
            "speaker_clause": target.speaker_clause,
            "max_quotes": s.max_quotes,
        },
        check=check,
    )


LABELS = tuple(_label(t) for t in TARGETS)
EVIDENCE = tuple(_evidence(t) for t in TARGETS)
ROLE_QUESTIONS: tuple[Question[Any], ...] = (*LABELS, *EVIDENCE)
"""Asked of every call: the three labels, then the evidence for each."""


def _anyone(quotes: list[str], s: Situation) -> str | None:
    return ungrounded(quotes, quote_menu(s.scope.lines), "anyone in the call")


def _custom_variables(s: Situation) -> dict[str, Any]:
    asked = s.question or UserQuestion(question="What was the reason for the call?")
    return {"question": asked.question, "context": asked.context, "answer_format": asked.answer_format}


CUSTOM = Question(
    id="custom",
    template="custom",
    output=FreeTextAnswer,
    max_tokens=_tokens(320),
    schema=lambda s: free_text_schema(quote_menu(s.scope.lines).ids),
    variables=_custom_variables,
    check=lambda answer, s: _anyone([answer.quote], s),
)
SUMMARY = Question(
    id="summary",
    template="summary",
    output=SummaryAnswer,
    max_tokens=_tokens(360),
    schema=lambda s: summary_schema(quote_menu(s.scope.lines).ids),
    variables=lambda s: {
        "judged": [{"whose": f"the {role}", "label": label} for role, label in s.judged],
        "status": s.status,
    },
    check=lambda answer, s: _anyone(answer.quotes, s) or sentence_count_problem(answer.summary, "summary", 2, 4),
)
RESOLUTION = Question(
    id="resolution",
    template="resolution",
    output=ResolutionAnswer,
    max_tokens=_tokens(240),
    schema=lambda s: resolution_schema(quote_menu(s.scope.lines).ids, s.status),
    variables=lambda s: {"status": s.status},
    check=lambda answer, s: _anyone([answer.quote], s),
)


def key_problem(answered: Iterable[str], keys: list[str]) -> str | None:
    """Ids the answer skipped or invented (a batch's line ids, a support answer's statement keys)."""
    given = list(answered)
    missing = [k for k in keys if k not in given]
    unknown = [k for k in given if k not in keys]
    if not missing and not unknown:
        return None
    parts = []
    if missing:
        parts.append(f"it has no entry for {', '.join(missing)}")
    if unknown:
        parts.append(f"it has entries for ids that were not asked: {', '.join(unknown)}")
    return f"{'; '.join(parts)}. Give exactly one entry for each of {', '.join(keys)}, in that order"


def support_problem(answer: SupportAnswer, keys: list[str], menu: QuoteMenu) -> str | None:
    """Re-asked: a skipped or invented statement key, or a line that is neither a line id nor ``none`` (a
    model without a grammar may copy words instead). A verdict naming no line is an answer, not a problem."""
    named = [f"{k}: {v.line[:40]!r}" for k, v in answer.root.items() if v.line != NO_LINE and not menu.has_id(v.line)]
    return key_problem(answer.root, keys) or (
        f"these are not line ids: {'; '.join(named)}. Give the [id] of the line, or {NO_LINE!r}" if named else None
    )


def _claim_keys(s: Situation) -> list[str]:
    return [c.key for c in s.claims]


SUPPORT_TOKENS_PER_CLAIM = 24
"""Room for ``"S1": {"supported": false, "line": "12.3"}, `` (about 17 tokens)."""

SUPPORT = Question(
    id="summary_support",
    template="summary_support",
    output=SupportAnswer,
    max_tokens=lambda s: 8 + SUPPORT_TOKENS_PER_CLAIM * len(s.claims),
    schema=lambda s: support_schema(_claim_keys(s), quote_menu(s.scope.lines).ids),
    variables=lambda s: {"claims": [{"key": c.key, "text": c.text} for c in s.claims]},
    check=lambda answer, s: support_problem(answer, _claim_keys(s), quote_menu(s.scope.lines)),
)
"""Whether a transcript line shows each sentence of the summary and the resolution's reason (``faithfulness``)."""
RECOMMENDATIONS = Question(
    id="recommendations",
    template="recommendations",
    output=RecommendationsAnswer,
    max_tokens=_tokens(480),
    schema=lambda s: recommendations_schema(quote_menu(s.scope.lines).ids),
    variables=lambda s: {"findings": list(s.findings)},
    check=lambda answer, s: _anyone([r.quote for r in answer.recommendations], s),
)
SUMMARY_QUESTIONS: tuple[Question[Any], ...] = (SUMMARY, RESOLUTION, SUPPORT, RECOMMENDATIONS)
"""The ``summary`` part: asked after the labels; the support check after the answers it checks, the
recommendations last, with the measured findings."""


def batch_lines(units: tuple[Unit, ...] | list[Unit]) -> list[dict[str, Any]]:
    """What a segment batch lists: each line with its id (``[7.2]`` for a sentence of a split turn)."""
    return [{"key": u.key, "role": (u.segment.role or "unknown").upper(), "text": u.text} for u in units]


def batch_max_tokens(keys: list[str], with_confidence: bool) -> int:
    """Room for ``"key": "negative", `` per line (plus ``{"label": …, "confidence": 0.85}``)."""
    return 16 + sum(len(k) + (28 if with_confidence else 10) for k in keys)


def _keys(s: Situation) -> list[str]:
    return [u.key for u in s.batch]


SEGMENTS = Question(
    id=SEGMENT_QUESTION_ID,
    template=SEGMENT_QUESTION_ID,
    output=BatchLabels,
    max_tokens=lambda s: batch_max_tokens(_keys(s), s.with_confidence),
    schema=lambda s: batch_schema(_keys(s), with_confidence=s.with_confidence),
    variables=lambda s: {"lines": batch_lines(s.batch), "with_confidence": s.with_confidence},
    check=lambda answer, s: key_problem(answer.root, _keys(s)),
    top_logprobs=TOP_LOGPROBS,
)
NOTES = Question(
    id="window_notes",
    template="window_notes",
    output=NotesAnswer,
    max_tokens=_tokens(160),
    schema=lambda _s: notes_schema(),
    variables=lambda s: {"span": s.span},
)

QUESTIONS: dict[str, Question[Any]] = {
    q.id: q for q in (*ROLE_QUESTIONS, CUSTOM, SEGMENTS, SUMMARY, RESOLUTION, RECOMMENDATIONS)
}
"""What ``prompts render`` can show; long calls also ask ``NOTES`` of each window, and ``SUPPORT`` checks
answers the call gave, which a render has not got."""
QUESTION_IDS = tuple(QUESTIONS)
ALL_QUESTIONS: tuple[Question[Any], ...] = (*QUESTIONS.values(), SUPPORT, NOTES)


def question_messages(
    prompts: PromptSet,
    transcript: Transcript,
    question_id: str,
    *,
    label: str = "neutral",
    max_quotes: int = 3,
    question: UserQuestion | None = None,
    split_words: int = 25,
    batch_size: int = 8,
) -> list[ChatMessage]:
    """The exact messages one question sends over a whole call (the first batch, for segment sentiment);
    ``label`` feeds the evidence questions, ``question`` custom ones."""
    lines = sentiment_units(transcript, split_words)
    scope = Scope(system=prompts.system_message(lines), segments=transcript.segments, lines=lines)
    row = QUESTIONS.get(question_id) or (CUSTOM if question is not None else None)
    if row is None:
        raise TemplateError(f"unknown question {question_id!r}", hint=f"Questions: {', '.join(QUESTION_IDS)}.")
    situation = Situation(
        scope=scope, label=label, question=question, batch=tuple(lines[:batch_size]), max_quotes=max_quotes
    )
    return row.messages(prompts, situation)
