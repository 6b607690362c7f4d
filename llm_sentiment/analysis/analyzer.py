"""A transcript in, the native ``Analysis`` out: role and call sentiment with reasons and grounded
quotes, per-segment sentiment and its timeline, summary, resolution, recommendations, answers.

Every question of a call shares one system message (rules + transcript), so llama.cpp reuses its
KV cache across them. A call longer than the model's context is read in overlapping windows
(``windows``): each window scores its own segments and writes notes on what happened in it (map),
then the role and summary questions are asked once over a digest of the windows (reduce).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from llm_sentiment.ask.answers import (
    REASONING_SENTENCES,
    EvidenceAnswer,
    FreeTextAnswer,
    LabelAnswer,
    NotesAnswer,
    RecommendationsAnswer,
    ResolutionAnswer,
    SummaryAnswer,
    UserQuestion,
    evidence_schema,
    free_text_schema,
    label_schema,
    notes_schema,
    recommendations_schema,
    resolution_schema,
    summary_schema,
)
from llm_sentiment.ask.asking import ask
from llm_sentiment.ask.prompts import DigestPart, Part, PromptSet, role_rows
from llm_sentiment.errors import ConfigError, TemplateError, TokenLimitError
from llm_sentiment.llm.base import ChatMessage, LLMClient
from llm_sentiment.roles.rules import LOW_CONFIDENCE
from llm_sentiment.settings import Settings
from llm_sentiment.transcript.model import Role, Segment, Transcript
from llm_sentiment.transcript.units import Unit, sentiment_units

from .behavior import Behavioral, behavioral
from .grounding import split_sentences
from .long_calls import WindowPlan, estimate_tokens, plan_windows
from .quotes import QuoteMenu, quote_menu
from .result import (
    Analysis,
    CustomAnswer,
    Provenance,
    Quote,
    Recommendation,
    ResolutionFinding,
    RoleSentiments,
    SegmentSentiment,
    Sentiment,
    Summary,
    Timeline,
    Warning,
    Window,
)
from .scoring import Scored, Thresholds, from_model, from_probabilities, label_probabilities
from .segments import QUESTION_ID as SEGMENT_QUESTION_ID
from .segments import Scope, SegmentScorer, batch_lines
from .timeline import timeline as build_timeline

Progress = Callable[[str], None]
AnalysisPart = Literal["segments", "summary"]
ANALYSIS_PARTS: tuple[AnalysisPart, ...] = ("segments", "summary")
"""Optional parts; role and call sentiment are always analyzed."""

_TOP_LOGPROBS = 10
_LABEL_TOKENS = 24
_EVIDENCE_TOKENS = 320
_ANSWER_TOKENS = 320
_SUMMARY_TOKENS = 360
_RESOLUTION_TOKENS = 240
_RECOMMENDATION_TOKENS = 480
_NOTES_TOKENS = 160
_QUESTION_RESERVE_TOKENS = 1100
"""Room left in each window for the longest question and its answer (recommendations, with re-asks);
a segment batch reserves its own (``SegmentScorer.reserve_tokens``)."""
_MIN_WINDOW_TOKENS = 256
_DIGEST_LINES_PER_ROLE = 3
_DIGEST_FINAL_LINES = 4


@dataclass(frozen=True)
class _Target:
    key: str
    role: Role | None
    subject: str
    speaker_clause: str


_TARGETS = (
    _Target("customer", "customer", "the CUSTOMER", "spoken by the CUSTOMER"),
    _Target("agent", "agent", "the AGENT", "spoken by the AGENT"),
    _Target("overall", None, "the call as a whole", "from the transcript"),
)


QUESTION_IDS = (
    *(f"{t.key}_sentiment" for t in _TARGETS),
    *(f"{t.key}_evidence" for t in _TARGETS),
    "custom",
    SEGMENT_QUESTION_ID,
    "summary",
    "resolution",
    "recommendations",
)


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
    """The exact messages one question sends (the first batch, for segment sentiment); ``label`` feeds
    the evidence questions, ``question`` custom ones.

    Label questions get ``lines``, the target role's own segments (all segments for the call), so a
    template can show a small model the words it must judge right next to the question.
    """
    lines = sentiment_units(transcript, split_words)
    for target in _TARGETS:
        if question_id == f"{target.key}_sentiment":
            return prompts.messages(question_id, lines, lines=role_rows(transcript.segments, target.role))
        if question_id == f"{target.key}_evidence":
            return prompts.messages(
                "evidence",
                lines,
                subject=target.subject,
                label=label,
                speaker_clause=target.speaker_clause,
                max_quotes=max_quotes,
            )
    if question_id == SEGMENT_QUESTION_ID:
        return prompts.messages(question_id, lines, lines=batch_lines(lines[:batch_size]), with_confidence=False)
    if question_id == "recommendations":
        return prompts.messages(question_id, lines, findings=[])
    if question_id in ("summary", "resolution"):
        return prompts.messages(question_id, lines)
    if question_id == "custom" or question is not None:
        asked = question or UserQuestion(question="What was the reason for the call?")
        return prompts.messages(
            "custom", lines, question=asked.question, context=asked.context, answer_format=asked.answer_format
        )
    raise TemplateError(f"unknown question {question_id!r}", hint=f"Questions: {', '.join(QUESTION_IDS)}.")


class Analyzer:
    def __init__(self, llm: LLMClient, prompts: PromptSet, settings: Settings, model: str | None = None) -> None:
        self.llm = llm
        self.prompts = prompts
        self.settings = settings
        self.model = model or settings.model
        self.thresholds = Thresholds(settings.positive_threshold, settings.negative_threshold)
        self._explicit_thresholds = bool({"positive_threshold", "negative_threshold"} & settings.model_fields_set)

    def thresholds_for(self, target: str) -> Thresholds:
        """Thresholds set in the environment win; then the prompt version's calibration for this model."""
        calibration = self.prompts.calibration
        if self._explicit_thresholds or calibration is None:
            return self.thresholds
        return calibration.thresholds(self.model, target) or self.thresholds

    def _scorer(self) -> SegmentScorer:
        return SegmentScorer(
            self.llm,
            self.prompts,
            model=self.model,
            thresholds=self.thresholds,
            batch_size=self.settings.segment_batch_size,
            max_reasks=self.settings.max_reasks,
        )

    def windows(self, transcript: Transcript) -> list[WindowPlan]:
        """One window when the call fits the context, else overlapping windows (see ``windows``)."""
        # The system message without its lines, with the longest part note a window can carry.
        frame = self.prompts.system_message([], Part(99, 99, 99999))
        reserve = max(_QUESTION_RESERVE_TOKENS, self._scorer().reserve_tokens())
        budget = self.settings.context_window - estimate_tokens(frame.content) - reserve
        if budget < _MIN_WINDOW_TOKENS:
            raise ConfigError(
                f"a context of {self.settings.context_window} tokens leaves no room for the transcript "
                f"after the instructions and the answer",
                hint="Raise LLM_SENTIMENT_N_CTX (or LLM_SENTIMENT_CONTEXT_TOKENS for a remote model).",
            )
        shown: dict[int, int] = {}
        for unit in sentiment_units(transcript, self.settings.split_words):
            line = f"[{unit.key}] {(unit.segment.role or 'unknown').upper()}: {unit.text}\n"
            shown[unit.segment.id] = shown.get(unit.segment.id, 0) + estimate_tokens(line)
        tokens = [shown[s.id] for s in transcript.segments]
        return plan_windows(tokens, budget, int(budget * self.settings.window_overlap))

    def steps(
        self, transcript: Transcript, questions: list[UserQuestion], parts: tuple[AnalysisPart, ...] = ANALYSIS_PARTS
    ) -> int:
        """How many LLM questions an analysis asks, re-asks aside (for progress bars)."""
        plans = self.windows(transcript)
        units = sentiment_units(transcript, self.settings.split_words)
        scorer = self._scorer()
        batches = 0
        if "segments" in parts or len(plans) > 1:
            for plan in plans:
                core = {s.id for s in transcript.segments[plan.core : plan.end]}
                batches += len(scorer.batches([u for u in units if u.segment.id in core]))
        notes = len(plans) if len(plans) > 1 else 0
        return 2 * len(_TARGETS) + len(questions) + batches + notes + (3 if "summary" in parts else 0)

    def analyze(
        self,
        transcript: Transcript,
        questions: list[UserQuestion] | None = None,
        progress: Progress | None = None,
        parts: tuple[AnalysisPart, ...] = ANALYSIS_PARTS,
        *,
        explain: bool = True,
    ) -> Analysis:
        """``transcript`` must already carry roles (``roles.assign_roles``).

        ``explain=False`` asks only the label questions of the roles and the call (no reasoning, no
        quotes): a fast pass for prompt iteration in the eval harness.
        """
        assert transcript.role_mapping is not None, "assign roles before analysis"
        questions = questions or []
        run = _Run(provenance=[], warnings=list(transcript.warnings), timings={}, progress=progress)
        if transcript.role_mapping.confidence < LOW_CONFIDENCE:
            run.warnings.append(
                Warning(
                    code="roles.low_confidence",
                    message="agent/customer assignment is uncertain "
                    f"(confidence {transcript.role_mapping.confidence:.2f}); pass --roles to set it",
                )
            )
        plans = self.windows(transcript)
        units = sentiment_units(transcript, self.settings.split_words)
        scorer = self._scorer()
        windows: list[Window] = []
        labels: dict[str, Scored] = {}
        if len(plans) == 1:
            scope = self._scope(transcript, units)
            # Labels first: a label question may use its own short system message, so asking it before
            # the questions that share the transcript prefix lets llama.cpp compute that prefix once.
            with run.stage("roles"):
                labels = {t.key: self._label(scope, t, run) for t in _TARGETS}
            scored: list[SegmentSentiment] = []
            if "segments" in parts:
                with run.stage("segments"):
                    scored = scorer.score(scope, units, run.provenance, run.warnings, progress)
        else:
            scored, scope, windows = self._map_reduce(transcript, plans, units, scorer, run)
        metrics = behavioral(transcript, self.settings.interruption_min_overlap)
        timeline = build_timeline(scored, self.thresholds, self.settings.trend_threshold, transcript.duration)
        if timeline is not None and timeline.time_basis == "estimated":
            run.warnings.append(
                Warning(
                    code="timing.estimated",
                    message="the transcript has no timings: per-minute and per-quarter series use times "
                    "estimated at 150 words a minute",
                )
            )
        with run.stage("roles"):
            labels = labels or {t.key: self._label(scope, t, run) for t in _TARGETS}
            results = {
                t.key: self._explain(scope, t, labels[t.key], run) if explain else _sentiment(labels[t.key], "", [])
                for t in _TARGETS
            }
            answers = [self._custom(scope, q, run) for q in questions]
        summary, resolution, recommendations = None, None, []
        if "summary" in parts:
            with run.stage("summary"):
                summary = self._summary(scope, run)
                resolution = self._resolution(scope, run)
                recommendations = self._recommendations(scope, _findings(timeline, scored, metrics), run)
        return Analysis(
            transcript=transcript,
            role_mapping=transcript.role_mapping,
            roles=RoleSentiments(agent=results["agent"], customer=results["customer"]),
            overall=results["overall"],
            answers=answers,
            behavioral=metrics,
            segments=scored,
            timeline=timeline,
            summary=summary,
            resolution=resolution,
            recommendations=recommendations,
            windows=windows,
            timings=run.timings,
            provenance=run.provenance,
            warnings=run.warnings,
            model=self.model,
            prompts_version=self.prompts.version,
        )

    def score_text(self, transcript: Transcript) -> tuple[list[SegmentSentiment], list[Provenance], list[Warning]]:
        """Per-segment sentiment alone (Deepgram's ``/v1/read``): no role questions, no summary.

        A synchronous request gets no map-reduce: the text must fit one context window."""
        if len(self.windows(transcript)) > 1:
            raise TokenLimitError(
                f"the text does not fit the model's context of {self.settings.context_window} tokens",
                hint="Send a shorter text, or submit it as a transcript job (long calls are windowed there).",
            )
        provenance: list[Provenance] = []
        warnings = list(transcript.warnings)
        units = sentiment_units(transcript, self.settings.split_words)
        scope = self._scope(transcript, units)
        return self._scorer().score(scope, units, provenance, warnings), provenance, warnings

    def _scope(self, transcript: Transcript, units: list[Unit]) -> Scope:
        return Scope(system=self.prompts.system_message(units), segments=transcript.segments, lines=units)

    def _map_reduce(
        self, transcript: Transcript, plans: list[WindowPlan], units: list[Unit], scorer: SegmentScorer, run: _Run
    ) -> tuple[list[SegmentSentiment], Scope, list[Window]]:
        """Map: each window scores its core segments and writes notes. Reduce: a digest scope."""
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
            lines = [u for u in units if u.segment.id in shown_ids]
            scope = Scope(
                system=self.prompts.system_message(lines, part), segments=shown, lines=lines, window=index
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
            with run.stage("segments"):
                own = scorer.score(
                    scope, [u for u in units if u.segment.id in core_ids], run.provenance, run.warnings, run.progress
                )
            scored.extend(own)
            with run.stage("notes"):
                notes = self._notes(scope, core, run)
            final_ids = {s.id for s in segments[-_DIGEST_FINAL_LINES:]} if index == len(plans) else set()
            final = [u for u in units if u.segment.id in final_ids]
            digest.append(
                DigestPart(
                    index=index,
                    start=core[0].start,
                    end=core[-1].end,
                    notes=notes,
                    lines=_telling_lines(own, final, units),
                )
            )
        told = [line for part in digest for line in part.lines]
        turns = [u.segment.model_copy(update={"text": u.text}) for u in told]
        return scored, Scope(system=self.prompts.digest_message(digest), segments=turns, lines=told), windows

    def _notes(self, scope: Scope, core: list[Segment], run: _Run) -> str:
        span = f"lines [{core[0].id}] to [{core[-1].id}]"
        answered = ask(
            self.llm,
            model=self.model,
            question_id="window_notes",
            template=self.prompts["window_notes"],
            messages=self.prompts.ask(scope.system, "window_notes", span=span),
            output=NotesAnswer,
            schema=notes_schema(),
            max_tokens=_NOTES_TOKENS,
            max_reasks=self.settings.max_reasks,
        )
        run.record(answered.provenance, scope, "window_notes")
        return answered.value.notes.strip()

    def answer(
        self, transcript: Transcript, questions: list[UserQuestion], progress: Progress | None = None
    ) -> tuple[list[CustomAnswer], list[Provenance], list[Warning]]:
        """Only the user's questions, over a transcript that already carries roles (a long call's over
        the digest of its windows, as in ``analyze``)."""
        assert transcript.role_mapping is not None, "assign roles before analysis"
        run = _Run(provenance=[], warnings=[], timings={}, progress=progress)
        plans = self.windows(transcript)
        units = sentiment_units(transcript, self.settings.split_words)
        if len(plans) == 1:
            scope = self._scope(transcript, units)
        else:
            _, scope, _ = self._map_reduce(transcript, plans, units, self._scorer(), run)
        answers = [self._custom(scope, q, run) for q in questions]
        return answers, run.provenance, run.warnings

    def _label(self, scope: Scope, target: _Target, run: _Run) -> Scored:
        question_id = f"{target.key}_sentiment"
        labelled = ask(
            self.llm,
            model=self.model,
            question_id=question_id,
            template=self.prompts[question_id],
            messages=self.prompts.ask(
                self.prompts.system_for(question_id, scope.system),
                question_id,
                lines=role_rows(scope.segments, target.role),
            ),
            output=LabelAnswer,
            schema=label_schema(),
            max_tokens=_LABEL_TOKENS,
            max_reasks=self.settings.max_reasks,
            top_logprobs=_TOP_LOGPROBS,
        )
        run.record(labelled.provenance, scope, question_id)
        probabilities = label_probabilities(labelled.response.content, labelled.response.logprobs)
        thresholds = self.thresholds_for(target.key)
        if probabilities:
            return from_probabilities(probabilities, thresholds)
        return from_model(labelled.value.label, labelled.value.confidence, thresholds)

    def _explain(self, scope: Scope, target: _Target, scored: Scored, run: _Run) -> Sentiment:
        menu = quote_menu(scope.lines, target.role)
        evidence_id = f"{target.key}_evidence"
        template = self.prompts["evidence"]
        explained = ask(
            self.llm,
            model=self.model,
            question_id=evidence_id,
            template=template,
            messages=self.prompts.ask(
                scope.system,
                "evidence",
                subject=target.subject,
                label=scored.label,
                speaker_clause=target.speaker_clause,
                max_quotes=self.settings.max_quotes,
            ),
            output=EvidenceAnswer,
            schema=evidence_schema(menu.ids, self.settings.max_quotes),
            max_tokens=_EVIDENCE_TOKENS,
            max_reasks=self.settings.max_reasks,
            check=lambda answer: (
                _ungrounded(answer.quotes, menu, target.subject)
                or _sentence_count_problem(answer.reasoning, "reasoning", 1, REASONING_SENTENCES)
            ),
        )
        run.record(explained.provenance, scope, evidence_id)
        quotes = _grounded(explained.value.quotes, menu, evidence_id, run.warnings)[: self.settings.max_quotes]
        sentences = split_sentences(explained.value.reasoning.strip())
        if len(sentences) > REASONING_SENTENCES:
            run.warnings.append(
                Warning(
                    code="reasoning.length",
                    question_id=evidence_id,
                    message=f"the reasoning had {len(sentences)} sentences after re-asks; the first "
                    f"{REASONING_SENTENCES} are kept",
                )
            )
        return _sentiment(scored, " ".join(sentences[:REASONING_SENTENCES]), quotes)

    def _custom(self, scope: Scope, question: UserQuestion, run: _Run) -> CustomAnswer:
        question_id = question.id or "custom"
        menu = quote_menu(scope.lines)
        answered = ask(
            self.llm,
            model=self.model,
            question_id=question_id,
            template=self.prompts["custom"],
            messages=self.prompts.ask(
                scope.system,
                "custom",
                question=question.question,
                context=question.context,
                answer_format=question.answer_format,
            ),
            output=FreeTextAnswer,
            schema=free_text_schema(menu.ids),
            max_tokens=_ANSWER_TOKENS,
            max_reasks=self.settings.max_reasks,
            check=lambda answer: _ungrounded([answer.quote], menu, "anyone in the call"),
        )
        run.record(answered.provenance, scope, question_id)
        return CustomAnswer(
            id=question_id,
            question=question.question,
            context=question.context,
            answer_format=question.answer_format,
            answer=answered.value.answer.strip(),
            quotes=_grounded([answered.value.quote], menu, question_id, run.warnings),
        )

    def _summary(self, scope: Scope, run: _Run) -> Summary:
        menu = quote_menu(scope.lines)
        answered = ask(
            self.llm,
            model=self.model,
            question_id="summary",
            template=self.prompts["summary"],
            messages=self.prompts.ask(scope.system, "summary"),
            output=SummaryAnswer,
            schema=summary_schema(menu.ids),
            max_tokens=_SUMMARY_TOKENS,
            max_reasks=self.settings.max_reasks,
            check=lambda answer: (
                _ungrounded(answer.quotes, menu, "anyone in the call")
                or _sentence_count_problem(answer.summary, "summary", 2, 4)
            ),
        )
        run.record(answered.provenance, scope, "summary")
        text = answered.value.summary.strip()
        if _sentence_count_problem(text, "summary", 2, 4):
            run.warnings.append(
                Warning(
                    code="summary.length",
                    question_id="summary",
                    message=f"the summary has {len(split_sentences(text))} sentences, not 2 to 4",
                )
            )
        return Summary(text=text, quotes=_grounded(answered.value.quotes, menu, "summary", run.warnings))

    def _resolution(self, scope: Scope, run: _Run) -> ResolutionFinding:
        menu = quote_menu(scope.lines)
        answered = ask(
            self.llm,
            model=self.model,
            question_id="resolution",
            template=self.prompts["resolution"],
            messages=self.prompts.ask(scope.system, "resolution"),
            output=ResolutionAnswer,
            schema=resolution_schema(menu.ids),
            max_tokens=_RESOLUTION_TOKENS,
            max_reasks=self.settings.max_reasks,
            check=lambda answer: _ungrounded([answer.quote], menu, "anyone in the call"),
        )
        run.record(answered.provenance, scope, "resolution")
        return ResolutionFinding(
            status=answered.value.resolution,
            reasoning=answered.value.reasoning.strip(),
            quotes=_grounded([answered.value.quote], menu, "resolution", run.warnings),
        )

    def _recommendations(self, scope: Scope, findings: list[str], run: _Run) -> list[Recommendation]:
        menu = quote_menu(scope.lines)
        answered = ask(
            self.llm,
            model=self.model,
            question_id="recommendations",
            template=self.prompts["recommendations"],
            messages=self.prompts.ask(scope.system, "recommendations", findings=findings),
            output=RecommendationsAnswer,
            schema=recommendations_schema(menu.ids),
            max_tokens=_RECOMMENDATION_TOKENS,
            max_reasks=self.settings.max_reasks,
            check=lambda answer: _ungrounded([r.quote for r in answer.recommendations], menu, "anyone in the call"),
        )
        run.record(answered.provenance, scope, "recommendations")
        kept = []
        for item in answered.value.recommendations:
            quotes = _grounded([item.quote], menu, "recommendations", run.warnings)
            if quotes:  # a recommendation is only as good as its evidence
                kept.append(Recommendation(type=item.type, text=item.recommendation.strip(), quotes=quotes))
        return kept


@dataclass
class _Run:
    """What one analysis accumulates as it goes."""

    provenance: list[Provenance]
    warnings: list[Warning]
    timings: dict[str, float]
    progress: Progress | None

    def record(self, provenance: Provenance, scope: Scope, step: str) -> None:
        self.provenance.append(provenance.model_copy(update={"window": scope.window}))
        if self.progress:
            self.progress(step)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(self.timings.get(name, 0.0) + time.perf_counter() - started, 3)


def _sentiment(scored: Scored, reasoning: str, quotes: list[Quote]) -> Sentiment:
    return Sentiment(
        label=scored.label,
        score=scored.score,
        confidence=scored.confidence,
        confidence_source=scored.source,
        probabilities=scored.probabilities,
        reasoning=reasoning,
        quotes=quotes,
    )


def _telling_lines(scored: list[SegmentSentiment], final: list[Unit], units: list[Unit]) -> list[Unit]:
    """A window's most emotional lines per role, plus the call's final lines, in transcript order."""
    by_id = {u.id: u for u in units}
    picked = {u.id: u for u in final}
    for role in ("customer", "agent"):
        own = [s for s in scored if s.role == role]
        for s in sorted(own, key=lambda s: -abs(s.score))[:_DIGEST_LINES_PER_ROLE]:
            picked[s.id] = by_id[s.id]
    return [picked[i] for i in sorted(picked)]


def _sentence_count_problem(text: str, what: str, low: int, high: int) -> str | None:
    count = len(split_sentences(text))
    return None if low <= count <= high else f"the {what} has {count} sentences; write {low} to {high}"


def _findings(timeline: Timeline | None, scored: list[SegmentSentiment], metrics: Behavioral | None) -> list[str]:
    """Measured facts the recommendations question sees: trends, turning points, talk behaviour."""
    facts = []
    if timeline is not None:
        for role in ("customer", "agent"):
            line = getattr(timeline, role)
            if line.tally is not None and line.trend is not None:
                fact = (
                    f"{role} sentiment {line.tally.label} on average ({line.tally.score:+.2f}), {line.trend.direction}"
                )
                point = line.trend.turning_point
                if point is not None:
                    fact += f"; it turned at [{point.segment_id}]"
                facts.append(fact)
    negative = sorted({s.segment_id for s in scored if s.role == "agent" and s.label == "negative"})
    if negative:
        facts.append("agent lines that sound negative: " + ", ".join(f"[{i}]" for i in negative))
    if metrics is not None:
        facts.append(
            f"interruptions: agent {metrics.agent.interruptions}, customer {metrics.customer.interruptions}; "
            f"silence {metrics.silence_ratio:.0%} of the call; agent talks {metrics.agent_talk_ratio:.0%}"
        )
    return facts


def _ungrounded(quotes: list[str], menu: QuoteMenu, whose: str) -> str | None:
    missing = menu.unknown(quotes)
    if not missing:
        return None
    listed = "; ".join(repr(q[:80]) for q in missing)
    return f"these are not ids of lines said by {whose}: {listed}. Give the [id] of each line you quote"


def _grounded(quotes: list[str], menu: QuoteMenu, question_id: str, warnings: list[Warning]) -> list[Quote]:
    """The lines the answer names, as the transcript's own words; anything else is dropped with a warning."""
    kept: dict[tuple[int, str], Quote] = {}
    for value in quotes:
        found = menu.resolve(value)
        if found is None:
            warnings.append(
                Warning(
                    code="quote.ungrounded",
                    question_id=question_id,
                    message=f"dropped a quote that names no line of the transcript: {value[:120]!r}",
                )
            )
            continue
        kept.setdefault((found.segment_id, found.text.lower()), found)
    return list(kept.values())
