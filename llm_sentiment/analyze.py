"""A transcript in, the native ``Analysis`` out: role and call sentiment, reasons, grounded quotes, answers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .analysis import Analysis, CustomAnswer, Provenance, Quote, RoleSentiments, Sentiment, Warning
from .answers import (
    EvidenceAnswer,
    FreeTextAnswer,
    LabelAnswer,
    UserQuestion,
    evidence_schema,
    free_text_schema,
    label_schema,
)
from .asking import ask
from .errors import TemplateError
from .grounding import ground_quote, quotable_sentences, segments_for
from .llm import ChatMessage, LLMClient
from .metrics import behavioral
from .scoring import Scored, Thresholds, from_model, from_probabilities, label_probabilities
from .settings import Settings
from .templates import PromptSet, role_rows
from .transcript import Role, Segment, Transcript

Progress = Callable[[str], None]

_TOP_LOGPROBS = 10
_LABEL_TOKENS = 24
_EVIDENCE_TOKENS = 320
_ANSWER_TOKENS = 320
_LOW_ROLE_CONFIDENCE = 0.6


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


QUESTION_IDS = (*(f"{t.key}_sentiment" for t in _TARGETS), *(f"{t.key}_evidence" for t in _TARGETS), "custom")


def question_messages(
    prompts: PromptSet,
    transcript: Transcript,
    question_id: str,
    *,
    label: str = "neutral",
    max_quotes: int = 3,
    question: UserQuestion | None = None,
) -> list[ChatMessage]:
    """The exact messages one question sends; ``label`` feeds the evidence questions, ``question`` custom ones.

    Label questions get ``lines``, the target role's own segments (all segments for the call), so a
    template can show a small model the words it must judge right next to the question.
    """
    for target in _TARGETS:
        if question_id == f"{target.key}_sentiment":
            return prompts.messages(question_id, transcript, lines=role_rows(transcript, target.role))
        if question_id == f"{target.key}_evidence":
            return prompts.messages(
                "evidence",
                transcript,
                subject=target.subject,
                label=label,
                speaker_clause=target.speaker_clause,
                max_quotes=max_quotes,
            )
    if question_id == "custom" or question is not None:
        asked = question or UserQuestion(question="What was the reason for the call?")
        return prompts.messages(
            "custom", transcript, question=asked.question, context=asked.context, answer_format=asked.answer_format
        )
    raise TemplateError(f"unknown question {question_id!r}", hint=f"Questions: {', '.join(QUESTION_IDS)}.")


def steps_for(questions: list[UserQuestion]) -> int:
    """How many LLM questions an analysis asks (for progress bars)."""
    return 2 * len(_TARGETS) + len(questions)


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

    def analyze(
        self,
        transcript: Transcript,
        questions: list[UserQuestion] | None = None,
        progress: Progress | None = None,
        *,
        explain: bool = True,
    ) -> Analysis:
        """``transcript`` must already carry roles (``roles.assign_roles``).

        ``explain=False`` asks only the label questions (no quotes, no reasoning): a fast pass for
        prompt iteration in the eval harness.
        """
        assert transcript.role_mapping is not None, "assign roles before analysis"
        questions = questions or []
        provenance: list[Provenance] = []
        warnings: list[Warning] = []
        if transcript.role_mapping.confidence < _LOW_ROLE_CONFIDENCE:
            warnings.append(
                Warning(
                    code="roles.low_confidence",
                    message="agent/customer assignment is uncertain "
                    f"(confidence {transcript.role_mapping.confidence:.2f}); pass --roles to set it",
                )
            )
        # Every label first, then every explanation: questions that share the transcript prefix run
        # back to back, so llama.cpp computes the transcript once even when label questions use their
        # own short system message.
        scored = {t.key: self._label(transcript, t, provenance, progress) for t in _TARGETS}
        results = {
            t.key: self._explain(transcript, t, scored[t.key], provenance, warnings, progress)
            if explain
            else _sentiment(scored[t.key], "", [])
            for t in _TARGETS
        }
        answers = [self._custom(transcript, q, provenance, warnings, progress) for q in questions]
        return Analysis(
            transcript=transcript,
            role_mapping=transcript.role_mapping,
            roles=RoleSentiments(agent=results["agent"], customer=results["customer"]),
            overall=results["overall"],
            answers=answers,
            behavioral=behavioral(transcript, self.settings.interruption_min_overlap),
            provenance=provenance,
            warnings=warnings,
            model=self.model,
            prompts_version=self.prompts.version,
        )

    def _label(
        self, transcript: Transcript, target: _Target, provenance: list[Provenance], progress: Progress | None
    ) -> Scored:
        question_id = f"{target.key}_sentiment"
        labelled = ask(
            self.llm,
            model=self.model,
            question_id=question_id,
            template=self.prompts[question_id],
            messages=question_messages(self.prompts, transcript, question_id),
            output=LabelAnswer,
            schema=label_schema(),
            max_tokens=_LABEL_TOKENS,
            max_reasks=self.settings.max_reasks,
            top_logprobs=_TOP_LOGPROBS,
        )
        provenance.append(labelled.provenance)
        if progress:
            progress(question_id)
        probabilities = label_probabilities(labelled.response.content, labelled.response.logprobs)
        thresholds = self.thresholds_for(target.key)
        if probabilities:
            return from_probabilities(probabilities, thresholds)
        return from_model(labelled.value.label, labelled.value.confidence, thresholds)

    def _explain(
        self,
        transcript: Transcript,
        target: _Target,
        scored: Scored,
        provenance: list[Provenance],
        warnings: list[Warning],
        progress: Progress | None,
    ) -> Sentiment:
        segments = segments_for(transcript.segments, target.role)
        evidence_id = f"{target.key}_evidence"
        explained = ask(
            self.llm,
            model=self.model,
            question_id=evidence_id,
            template=self.prompts["evidence"],
            messages=question_messages(
                self.prompts, transcript, evidence_id, label=scored.label, max_quotes=self.settings.max_quotes
            ),
            output=EvidenceAnswer,
            schema=evidence_schema(quotable_sentences(segments), self.settings.max_quotes),
            max_tokens=_EVIDENCE_TOKENS,
            max_reasks=self.settings.max_reasks,
            check=lambda answer: _ungrounded(answer.quotes, segments, target.subject),
        )
        provenance.append(explained.provenance)
        if progress:
            progress(evidence_id)
        quotes = _grounded(explained.value.quotes, segments, evidence_id, warnings)[: self.settings.max_quotes]
        return _sentiment(scored, explained.value.reasoning.strip(), quotes)

    def _custom(
        self,
        transcript: Transcript,
        question: UserQuestion,
        provenance: list[Provenance],
        warnings: list[Warning],
        progress: Progress | None,
    ) -> CustomAnswer:
        question_id = question.id or "custom"
        answered = ask(
            self.llm,
            model=self.model,
            question_id=question_id,
            template=self.prompts["custom"],
            messages=question_messages(self.prompts, transcript, "custom", question=question),
            output=FreeTextAnswer,
            schema=free_text_schema(quotable_sentences(transcript.segments)),
            max_tokens=_ANSWER_TOKENS,
            max_reasks=self.settings.max_reasks,
            check=lambda answer: _ungrounded([answer.quote], transcript.segments, "the transcript"),
        )
        provenance.append(answered.provenance)
        if progress:
            progress(question_id)
        return CustomAnswer(
            id=question_id,
            question=question.question,
            context=question.context,
            answer_format=question.answer_format,
            answer=answered.value.answer.strip(),
            quotes=_grounded([answered.value.quote], transcript.segments, question_id, warnings),
        )


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


def _ungrounded(quotes: list[str], segments: list[Segment], whose: str) -> str | None:
    missing = [q for q in quotes if ground_quote(q, segments) is None]
    if not missing:
        return None
    listed = "; ".join(repr(q[:80]) for q in missing)
    return f"these quotes are not exact sentences said by {whose}: {listed}. Copy sentences word for word"


def _grounded(quotes: list[str], segments: list[Segment], question_id: str, warnings: list[Warning]) -> list[Quote]:
    """Keep the quotes found verbatim; drop the rest with a warning. Duplicates collapse."""
    kept: dict[tuple[int, str], Quote] = {}
    for text in quotes:
        found = ground_quote(text, segments)
        if found is None:
            warnings.append(
                Warning(
                    code="quote.ungrounded",
                    question_id=question_id,
                    message=f"dropped a quote not found verbatim in the transcript: {text[:120]!r}",
                )
            )
            continue
        kept.setdefault((found.segment_id, found.text.lower()), found)
    return list(kept.values())
