"""A transcript in, the native ``Analysis`` out: role and call sentiment with reasons and grounded
quotes, per-segment sentiment and its timeline, summary and resolution (each sentence checked against
the transcript, ``faithfulness``), recommendations, answers.

Every question of a call shares one system message (rules + transcript), so llama.cpp reuses its
KV cache across them. A call longer than the model's context is read in overlapping windows
(``long_calls``): each window scores its own segments and writes notes on what happened in it (map),
then the role and summary questions are asked once over a digest of the windows (reduce). Each
question is a row of ``questions``, asked through ``ask_row``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal, TypeVar, cast

from pydantic import BaseModel

from llm_sentiment.ask.answers import LABELS as LABEL_NAMES
from llm_sentiment.ask.answers import (
    REASONING_SENTENCES,
    LabelAnswer,
    Resolution,
    ResolutionAnswer,
    SummaryAnswer,
    UserQuestion,
)
from llm_sentiment.ask.asking import Answered, Provenance, slot_provenance
from llm_sentiment.ask.calibration import Calibration, Scaling, Thresholds
from llm_sentiment.ask.prompts import PromptSet
from llm_sentiment.errors import ProviderError, SlotsUnsupportedError, TokenLimitError
from llm_sentiment.llm.base import LLMClient, Probe, SlotRequest, SlotScoring
from llm_sentiment.roles.rules import LOW_CONFIDENCE
from llm_sentiment.settings import AnalysisOptions
from llm_sentiment.transcript.model import Transcript
from llm_sentiment.transcript.text import split_sentences
from llm_sentiment.transcript.units import Unit, sentiment_units

from .behavior import behavioral
from .faithfulness import (
    Claim,
    contradicting,
    dropped_warning,
    reask_problem,
    reason_claims,
    sentence_claims,
    unsupported,
    unsupported_reason_warning,
)
from .findings import findings
from .grounding import grounded, quote_menu
from .long_calls import WindowPlan, fit_windows, read_in_windows
from .questions import (
    CUSTOM,
    EVIDENCE,
    LABEL_ANSWER_START,
    LABELS,
    NOTES,
    PROBED_STATUSES,
    RECOMMENDATIONS,
    RESOLUTION,
    ROLE_QUESTIONS,
    STATUS_PROBE_AT,
    SUMMARY,
    SUMMARY_QUESTIONS,
    SUPPORT,
    TARGETS,
    Question,
    Rejected,
    Scope,
    Situation,
    Target,
    ask_row,
    sentence_count_problem,
)
from .result import (
    Analysis,
    CustomAnswer,
    Quote,
    Recommendation,
    ResolutionFinding,
    RoleSentiments,
    SegmentSentiment,
    Sentiment,
    StatusSource,
    Summary,
    Warning,
    Window,
)
from .scoring import Scored, from_head, from_model, from_probabilities, from_probe, label_probabilities
from .segments import SegmentScorer
from .timeline import timeline as build_timeline

T = TypeVar("T", bound=BaseModel)

Progress = Callable[[str], None]
AnalysisPart = Literal["segments", "summary"]
ANALYSIS_PARTS: tuple[AnalysisPart, ...] = ("segments", "summary")
"""Optional parts; role and call sentiment are always analyzed."""

BATCH_TREND_THRESHOLD = 0.3
SLOT_TREND_THRESHOLD = 0.6
"""The score change (last third against first third) that makes a trend, by where segment scores come from."""

_QUESTION_RESERVE_TOKENS = 1100
"""Room left in each window for the longest question and its answer (recommendations, with re-asks);
a segment batch reserves its own (``SegmentScorer.reserve_tokens``)."""


class Analyzer:
    def __init__(self, llm: LLMClient, prompts: PromptSet, options: AnalysisOptions) -> None:
        self.llm = llm
        self.prompts = prompts
        self.options = options
        self.model = options.model
        self.thresholds = Thresholds(options.positive_threshold, options.negative_threshold)

    def thresholds_for(self, target: str) -> Thresholds:
        """Thresholds set in the environment win; then the prompt version's calibration for this model.

        The ``segment`` band is fitted on scores read from slots (the scorer maps it onto the default band,
        so segment scores downstream are read against that); batch answers keep the default band."""
        calibration = self._calibration
        if calibration is None or (target == "segment" and not self.reads_slots):
            return self.thresholds
        return calibration.thresholds(self.model, target) or self.thresholds

    def head_for(self, target: str) -> Scaling | None:
        """The prompt version's label head for this model and target."""
        calibration = self._calibration
        return None if calibration is None else calibration.head(self.model, target)

    def probe_for(self, target: str) -> Probe | None:
        """The prompt version's probe for this model and target, where the model can read one (an embedded model:
        it reads the hidden state at a slot)."""
        calibration = self._calibration
        if calibration is None or not self._model_reads_slots:
            return None
        return calibration.probe(self.model, target)

    @property
    def _calibration(self) -> Calibration | None:
        """The prompt version's bands, heads and probes, unless thresholds set in the environment ask for their band."""
        return None if self.options.thresholds_given else self.prompts.calibration

    @property
    def trend_threshold(self) -> float:
        """Scores read from slots swing further from line to line than batch answers' (a slot's label
        distribution is sharper), so the score change that makes a trend is larger; both were chosen on the
        callcenter dev split (0.3 / 0.6 / 0.9 tried for slots: customer stable recall 0.38 / 0.88 / 1.00,
        declining recall 1 / 1 / 0 of 1). Set in the environment, it wins."""
        if self.options.trend_threshold is not None:
            return self.options.trend_threshold
        return SLOT_TREND_THRESHOLD if self.reads_slots else BATCH_TREND_THRESHOLD

    @property
    def reads_slots(self) -> bool:
        """Per-segment labels come from label slots (``segments``): set, and the model can."""
        return self.options.segment_slots and self._model_reads_slots

    @property
    def _model_reads_slots(self) -> bool:
        """The client can read this model's slots (label slots, a probe): the embedded models."""
        reads = getattr(self.llm, "reads_slots", None)
        return callable(reads) and bool(reads(self.model))

    def _scorer(self) -> SegmentScorer:
        return SegmentScorer(
            self.llm,
            self.prompts,
            model=self.model,
            thresholds=self.thresholds,
            batch_size=self.options.segment_batch_size,
            max_reasks=self.options.max_reasks,
            slots=self.reads_slots,
            slot_band=self.thresholds_for("segment") if self.reads_slots else None,
        )

    def _lines(self, transcript: Transcript) -> list[Unit]:
        return sentiment_units(transcript, self.options.split_words)

    def windows(self, transcript: Transcript) -> list[WindowPlan]:
        """One window when the call fits the context, else overlapping windows (see ``long_calls``)."""
        return fit_windows(
            transcript,
            self._lines(transcript),
            self.prompts,
            context_window=self.options.context_window,
            overlap=self.options.window_overlap,
            reserve=max(_QUESTION_RESERVE_TOKENS, self._scorer().reserve_tokens()),
        )

    def steps(
        self, transcript: Transcript, questions: list[UserQuestion], parts: tuple[AnalysisPart, ...] = ANALYSIS_PARTS
    ) -> int:
        """How many LLM questions an analysis asks, re-asks aside (for progress bars): the rows it will ask."""
        plans = self.windows(transcript)
        lines = self._lines(transcript)
        scorer = self._scorer()
        batches = 0
        if "segments" in parts or len(plans) > 1:
            for plan in plans:
                core = {s.id for s in transcript.segments[plan.core : plan.end]}
                batches += len(scorer.batches([u for u in lines if u.segment.id in core]))
        notes = len(plans) if len(plans) > 1 else 0
        summary = len(SUMMARY_QUESTIONS) if "summary" in parts else 0
        return len(ROLE_QUESTIONS) + len(questions) + batches + notes + summary

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
        lines = self._lines(transcript)
        windows: list[Window] = []
        labels: dict[str, Scored] = {}
        if len(plans) == 1:
            scope = self._scope(transcript, lines)
            # Labels first: a label question may use its own short system message, so asking it before
            # the questions that share the transcript prefix lets llama.cpp compute that prefix once.
            with run.stage("roles"):
                labels = self._labels(scope, run, status="summary" in parts)
            scored: list[SegmentSentiment] = []
            if "segments" in parts:
                with run.stage("segments"):
                    scored = self._score(scope, lines, run)
        else:
            scored, scope, windows = self._read_in_windows(transcript, plans, lines, run)
        metrics = behavioral(transcript, self.options.interruption_min_overlap)
        timeline = build_timeline(scored, self.thresholds, self.trend_threshold, transcript.duration)
        if timeline is not None and timeline.time_basis == "estimated":
            run.warnings.append(
                Warning(
                    code="timing.estimated",
                    message="the transcript has no timings: per-minute and per-quarter series use times "
                    "estimated at 150 words a minute",
                )
            )
        with run.stage("roles"):
            labels = labels or self._labels(scope, run, status="summary" in parts)
            results = {
                t.key: self._explain(scope, t, labels[t.key], run) if explain else _sentiment(labels[t.key], "", [])
                for t in TARGETS
            }
            answers = [self._custom(scope, q, run) for q in questions]
        summary, resolution, recommendations = None, None, []
        if "summary" in parts:
            with run.stage("summary"):
                judged = (("customer", results["customer"].label), ("agent", results["agent"].label))
                summary, resolution = self._summary_and_resolution(scope, judged, run)
                recommendations = self._recommendations(scope, findings(timeline, scored, metrics), run)
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
                f"the text does not fit the model's context of {self.options.context_window} tokens",
                hint="Send a shorter text, or submit it as a transcript job (long calls are windowed there).",
            )
        provenance: list[Provenance] = []
        warnings = list(transcript.warnings)
        lines = self._lines(transcript)
        return self._scorer().score(self._scope(transcript, lines), lines, provenance, warnings), provenance, warnings

    def answer(
        self, transcript: Transcript, questions: list[UserQuestion], progress: Progress | None = None
    ) -> tuple[list[CustomAnswer], list[Provenance], list[Warning]]:
        """Only the user's questions, over a transcript that already carries roles (a long call's over
        the digest of its windows, as in ``analyze``)."""
        assert transcript.role_mapping is not None, "assign roles before analysis"
        run = _Run(provenance=[], warnings=[], timings={}, progress=progress)
        plans = self.windows(transcript)
        lines = self._lines(transcript)
        if len(plans) == 1:
            scope = self._scope(transcript, lines)
        else:
            _, scope, _ = self._read_in_windows(transcript, plans, lines, run)
        answers = [self._custom(scope, q, run) for q in questions]
        return answers, run.provenance, run.warnings

    def _scope(self, transcript: Transcript, lines: list[Unit]) -> Scope:
        return Scope(system=self.prompts.system_message(lines), segments=transcript.segments, lines=lines)

    def _ask(
        self,
        question: Question[T],
        situation: Situation,
        run: _Run,
        question_id: str | None = None,
        *,
        again: bool = False,
    ) -> Answered[T]:
        """Every row an analysis asks goes through here: asked, recorded in provenance, counted for progress;
        a question asked ``again`` adds its asks to its first entry and is no new step."""
        answered = ask_row(
            self.llm,
            self.prompts,
            question,
            situation,
            model=self.model,
            max_reasks=self.options.max_reasks,
            question_id=question_id,
        )
        if again:
            run.record_again(answered.provenance)
        else:
            run.record(answered.provenance, situation.scope, question_id or question.id)
        return answered

    def _score(self, scope: Scope, lines: list[Unit], run: _Run) -> list[SegmentSentiment]:
        return self._scorer().score(scope, lines, run.provenance, run.warnings, run.progress)

    def _read_in_windows(
        self, transcript: Transcript, plans: list[WindowPlan], lines: list[Unit], run: _Run
    ) -> tuple[list[SegmentSentiment], Scope, list[Window]]:
        scorer = self._scorer()

        def score(scope: Scope, own: list[Unit]) -> list[SegmentSentiment]:
            with run.stage("segments"):
                return scorer.score(scope, own, run.provenance, run.warnings, run.progress)

        def note(scope: Scope, span: str) -> str:
            with run.stage("notes"):
                return self._ask(NOTES, Situation(scope=scope, span=span), run).value.notes.strip()

        return read_in_windows(transcript, plans, lines, self.prompts, score=score, note=note)

    def _labels(self, scope: Scope, run: _Run, *, status: bool) -> dict[str, Scored]:
        """Each target's label; with ``status``, the resolution probe read right after the label question it
        reads (``STATUS_PROBE_AT``), while that prompt is still in the model's KV cache."""
        labels = {}
        for target in TARGETS:
            labels[target.key] = self._label(scope, target, run)
            row = LABELS[TARGETS.index(target)]
            if status and row.id == STATUS_PROBE_AT:
                run.status = self._probe(row, Situation(scope=scope), "resolution", PROBED_STATUSES, run)
        return labels

    def _label(self, scope: Scope, target: Target, run: _Run) -> Scored:
        row = LABELS[TARGETS.index(target)]
        situation = Situation(scope=scope)
        labelled = self._ask(row, situation, run)
        probabilities = label_probabilities(labelled.response.content, labelled.response.logprobs)
        thresholds = self.thresholds_for(target.key)
        probed = self._probe(row, situation, target.key, LABEL_NAMES, run)
        if probed is not None:
            return from_probe({label: probed[label] for label in LABEL_NAMES}, probabilities, thresholds)
        head = self.head_for(target.key)
        if probabilities and head is not None:
            return from_head(probabilities, head, thresholds)
        if probabilities:
            return from_probabilities(probabilities, thresholds)
        return from_model(labelled.value.label, labelled.value.confidence, thresholds)

    def _probe(
        self, row: Question[LabelAnswer], situation: Situation, target: str, names: Sequence[str], run: _Run
    ) -> dict[str, float] | None:
        """The prompt version's probe for this model and target (a label's, or the resolution's over ``names``),
        read at the label answer's start right after the label question ``row`` (its prompt is still in the
        model's KV cache, so only those few tokens are read). None without a probe, or when the model cannot
        read slots or its provider fails (the head or band, or the resolution question, decides)."""
        probe = self.probe_for(target)
        if probe is None:
            return None
        own = row.id == f"{target}_sentiment"
        request = SlotRequest(
            model=self.model,
            messages=row.messages(self.prompts, situation),
            lines=[LABEL_ANSWER_START],
            labels=list(names),
            probe=probe,
        )
        try:
            response = cast(SlotScoring, self.llm).score_slots(request)
        except (SlotsUnsupportedError, ProviderError) as exc:
            if isinstance(exc, ProviderError) and not exc.retryable:
                raise
            code = "labels.no_probe" if own else f"{target}.no_probe"
            run.warnings.append(Warning(code=code, question_id=row.id, message=exc.message))
            return None
        question_id = f"{row.id}_probe" if own else f"{target}_probe"
        template = self.prompts[row.template]
        run.provenance.append(
            slot_provenance(question_id, template, self.model, response, window=situation.scope.window)
        )
        return {name: response.probabilities[0][name] for name in names}

    def _explain(self, scope: Scope, target: Target, scored: Scored, run: _Run) -> Sentiment:
        row = EVIDENCE[TARGETS.index(target)]
        situation = Situation(scope=scope, label=scored.label, max_quotes=self.options.max_quotes)
        explained = self._ask(row, situation, run)
        menu = quote_menu(scope.lines, target.role)
        quotes = grounded(explained.value.quotes, menu, row.id, run.warnings)[: self.options.max_quotes]
        sentences = split_sentences(explained.value.reasoning.strip())
        if len(sentences) > REASONING_SENTENCES:
            run.warnings.append(
                Warning(
                    code="reasoning.length",
                    question_id=row.id,
                    message=f"the reasoning had {len(sentences)} sentences after re-asks; the first "
                    f"{REASONING_SENTENCES} are kept",
                )
            )
        return _sentiment(scored, " ".join(sentences[:REASONING_SENTENCES]), quotes)

    def _custom(self, scope: Scope, question: UserQuestion, run: _Run) -> CustomAnswer:
        question_id = question.id or CUSTOM.id
        answered = self._ask(CUSTOM, Situation(scope=scope, question=question), run, question_id)
        return CustomAnswer(
            id=question_id,
            question=question.question,
            context=question.context,
            answer_format=question.answer_format,
            answer=answered.value.answer.strip(),
            quotes=grounded([answered.value.quote], quote_menu(scope.lines), question_id, run.warnings),
        )

    def _summary_and_resolution(
        self, scope: Scope, judged: tuple[tuple[str, str], ...], run: _Run
    ) -> tuple[Summary, ResolutionFinding]:
        """Both answers, then one support question over the summary's sentences and the resolution's reason
        (``faithfulness``). The summary is shown the labels already judged and the probed status, so it does not
        call a customer judged negative satisfied, nor an issue left waiting resolved. Unsupported sentences get
        the summary re-asked once, naming them; those still unsupported are dropped. An unsupported reason makes
        an answer-chosen status ``unclear``."""
        status = _likeliest(run.status) if run.status else None
        summarised = self._ask(SUMMARY, Situation(scope=scope, judged=judged, status=status), run)
        resolved = self._ask(RESOLUTION, Situation(scope=scope, status=status), run)
        sentences = sentence_claims(summarised.value.summary)
        reason = reason_claims(resolved.value)
        failed = self._unsupported(scope, (*sentences, *reason), run, judged=judged)
        dropped = [c for c in sentences if c in failed]
        summary = summarised.value
        if dropped:
            summary, sentences, dropped = self._reask_summary(
                scope, summarised, sentences, dropped, judged, status, run
            )
        return self._summary(scope, summary, sentences, dropped, run), self._resolution(
            scope, resolved.value, bool(reason) and reason[0] in failed, run.status, run
        )

    def _unsupported(
        self,
        scope: Scope,
        claims: tuple[Claim, ...],
        run: _Run,
        *,
        judged: tuple[tuple[str, str], ...],
        again: bool = False,
    ) -> list[Claim]:
        """Claims no line shows, and claims that give someone a feeling their judged label rules out."""
        checked = self._ask(SUPPORT, Situation(scope=scope, claims=claims), run, again=again)
        failed = unsupported(checked.value, claims, quote_menu(scope.lines))
        return [*failed, *(c for c in contradicting(claims, dict(judged)) if c not in failed)]

    def _reask_summary(
        self,
        scope: Scope,
        first: Answered[SummaryAnswer],
        sentences: tuple[Claim, ...],
        dropped: list[Claim],
        judged: tuple[tuple[str, str], ...],
        status: Resolution | None,
        run: _Run,
    ) -> tuple[SummaryAnswer, tuple[Claim, ...], list[Claim]]:
        """The summary asked again with the sentences no line shows, and checked again; the answer with more
        supported sentences is kept (the second on a tie: it was told what was wrong)."""
        rejected = Rejected(first.response.content, reask_problem(dropped))
        second = self._ask(
            SUMMARY, Situation(scope=scope, rejected=rejected, judged=judged, status=status), run, again=True
        )
        resentences = sentence_claims(second.value.summary)
        still = self._unsupported(scope, resentences, run, judged=judged, again=True)
        if len(resentences) - len(still) >= len(sentences) - len(dropped):
            return second.value, resentences, still
        return first.value, sentences, dropped

    def _summary(
        self, scope: Scope, answer: SummaryAnswer, sentences: tuple[Claim, ...], dropped: list[Claim], run: _Run
    ) -> Summary:
        text = answer.summary.strip()
        if sentence_count_problem(text, "summary", 2, 4):
            run.warnings.append(
                Warning(
                    code="summary.length",
                    question_id=SUMMARY.id,
                    message=f"the summary has {len(sentences)} sentences, not 2 to 4",
                )
            )
        quotes = grounded(answer.quotes, quote_menu(scope.lines), SUMMARY.id, run.warnings)
        if not dropped:
            return Summary(text=text, quotes=quotes)
        run.warnings.append(dropped_warning(dropped, len(sentences), SUMMARY.id))
        kept = [c.text for c in sentences if c not in dropped]
        return Summary(text=" ".join(kept), quotes=quotes if kept else [])

    def _resolution(
        self,
        scope: Scope,
        answer: ResolutionAnswer,
        reason_unsupported: bool,
        probed: dict[str, float] | None,
        run: _Run,
    ) -> ResolutionFinding:
        """An unsupported reason is left out, with its quote. A status the answer chose rested on that reason, so
        nothing is left to vouch for it: ``unclear``. A probed status (``probed``, the probe's distribution; the
        only one the answer could give) was fitted on labeled calls, not argued, so it stays."""
        source: StatusSource = "probe" if probed else "answer"
        if reason_unsupported:
            run.warnings.append(unsupported_reason_warning(answer, RESOLUTION.id, probed=probed is not None))
            status = answer.resolution if probed else "unclear"
            return ResolutionFinding(status=status, reasoning="", quotes=[], status_source=source, probabilities=probed)
        return ResolutionFinding(
            status=answer.resolution,
            reasoning=answer.reasoning.strip(),
            quotes=grounded([answer.quote], quote_menu(scope.lines), RESOLUTION.id, run.warnings),
            status_source=source,
            probabilities=probed,
        )

    def _recommendations(self, scope: Scope, facts: list[str], run: _Run) -> list[Recommendation]:
        answered = self._ask(RECOMMENDATIONS, Situation(scope=scope, findings=tuple(facts)), run)
        menu = quote_menu(scope.lines)
        kept = []
        for item in answered.value.recommendations:
            quotes = grounded([item.quote], menu, RECOMMENDATIONS.id, run.warnings)
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
    status: dict[str, float] | None = None
    """The resolution probe's distribution, read with the labels, for the resolution question to state."""

    def record(self, provenance: Provenance, scope: Scope, step: str) -> None:
        self.provenance.append(provenance.model_copy(update={"window": scope.window}))
        if self.progress:
            self.progress(step)

    def record_again(self, provenance: Provenance) -> None:
        """A question asked again after a later step turned its answer down: one entry, one step."""
        at = max(i for i, p in enumerate(self.provenance) if p.question_id == provenance.question_id)
        self.provenance[at] = self.provenance[at].then(provenance)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(self.timings.get(name, 0.0) + time.perf_counter() - started, 3)


def _likeliest(probed: dict[str, float]) -> Resolution:
    return max(PROBED_STATUSES, key=lambda name: probed[name])


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
