"""Per-segment sentiment, scored in batches against the call's shared prefix.

A model that reads label slots (the embedded llama.cpp models, ``SlotScoring``) is not asked to write
anything: after the shared prefix and the ``segment_slots`` question, its answer is forced to be the
lines themselves, each ending in `` ->``, and the label is read from its next-token distribution there
(then the likeliest label is appended, so later lines read like an answer in progress). That costs one
read of the lines and no decoding (``bench/end_to_end.py``'s 10-minute call: 177 s against 245 s for
batch questions, the transcript's first read included). Every other model gets batch questions:

A batch question copies its lines with their segment ids (``[7]``, or ``[7.2]`` for the second
sentence of a split turn) after the shared system message, which already holds the whole
transcript in the KV cache: the model reads each line among the turns around it, and the copy
right before the answer keeps a small model on the line it labels (with ids alone, a 1.5B model
tends to repeat the previous line's label; ``bench/segment_agreement.py`` measures it). The answer is one
JSON object whose keys are exactly the batch's ids (fixed by the schema, so a grammar-following
model can neither skip nor invent one). For providers that do not follow the schema, an answer
that skips or invents ids is re-asked, then the ids still missing are rescored on their own.
Label probabilities come from the logprobs at each label token (``scoring``); a provider without
logprobs is asked for a confidence per line instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from llm_sentiment.ask.answers import LABELS, Label, LabelAnswer
from llm_sentiment.ask.asking import Provenance, slot_provenance
from llm_sentiment.ask.calibration import Thresholds
from llm_sentiment.ask.prompts import PromptSet, as_data
from llm_sentiment.errors import InvalidAnswerError, ProviderError, SlotsUnsupportedError
from llm_sentiment.llm.base import ChatMessage, LLMClient, SlotRequest, SlotScoring
from llm_sentiment.transcript.units import Unit

from .long_calls import estimate_tokens
from .questions import SEGMENT_QUESTION_ID, SEGMENT_REPAIR_ID, SEGMENTS, Scope, Situation, ask_row, batch_max_tokens
from .result import SegmentSentiment, Warning
from .scoring import Scored, from_model, from_probabilities, keyed_label_probabilities

_BATCH_LINE_TOKENS = 640
SLOT_TEMPLATE = "segment_slots"
SLOT_MARK = " ->"
_SLOT_BATCH_LINES = 64
"""Lines per slot request (and at most ``_BATCH_LINE_TOKENS`` of them): each request is one deadline and one
progress step, and the lines of one request see the labels of the lines before them."""
_REASK_TOKENS = 60
"""The complaint a re-ask appends, besides the ids it names."""

Progress = Callable[[str], None]


def _line_tokens(unit: Unit) -> int:
    return estimate_tokens(f"[{unit.key}] {(unit.segment.role or 'unknown').upper()}: {unit.text}\n")


class SegmentScorer:
    def __init__(
        self,
        llm: LLMClient,
        prompts: PromptSet,
        *,
        model: str,
        thresholds: Thresholds,
        batch_size: int,
        max_reasks: int,
        slots: bool,
        slot_band: Thresholds | None = None,
    ) -> None:
        self.llm = llm
        self.prompts = prompts
        self.model = model
        self.thresholds = thresholds
        self.batch_size = batch_size
        self.max_reasks = max_reasks
        self.with_confidence = False
        """Set once a provider answers without logprobs: later batches ask for a confidence per line."""
        self.slots = slots
        """Read label slots (see the module docstring); cleared when the model turns out unable to."""
        self.slot_band = slot_band
        """The band fitted on dev for scores read from slots: they are rescaled onto ``thresholds``."""

    def batches(self, units: list[Unit], size: int | None = None) -> list[list[Unit]]:
        """Runs of at most ``size`` lines (default: ``_SLOT_BATCH_LINES`` when reading slots, else
        ``batch_size``) and ``_BATCH_LINE_TOKENS`` tokens (at least one line)."""
        size = size or (_SLOT_BATCH_LINES if self.slots else self.batch_size)
        batches: list[list[Unit]] = []
        current: list[Unit] = []
        used = 0
        for unit in units:
            tokens = _line_tokens(unit)
            if current and (len(current) >= size or used + tokens > _BATCH_LINE_TOKENS):
                batches.append(current)
                current, used = [], 0
            current.append(unit)
            used += tokens
        if current:
            batches.append(current)
        return batches

    def reserve_tokens(self) -> int:
        """The most a batch question adds after the system message: instructions, lines, answers, re-asks."""
        keys = ["99999.9"] * self.batch_size
        instructions = estimate_tokens(self.prompts[SEGMENTS.template].render(lines=[], with_confidence=True))
        answer = batch_max_tokens(keys, with_confidence=True)
        reasks = self.max_reasks * (answer + _REASK_TOKENS + estimate_tokens(", ".join(keys)))
        slots = estimate_tokens(self.prompts[SLOT_TEMPLATE].render(first="99999.9")) + 4 * _SLOT_BATCH_LINES
        return max(instructions + answer + reasks, slots) + _BATCH_LINE_TOKENS

    def score(
        self,
        scope: Scope,
        units: list[Unit],
        provenance: list[Provenance],
        warnings: list[Warning],
        progress: Progress | None = None,
    ) -> list[SegmentSentiment]:
        scored: dict[int, SegmentSentiment] = {}
        for batch in self.batches(units):
            if self.slots:
                scored.update(self._read_slots(scope, batch, provenance, warnings))
            if any(u.id not in scored for u in batch):
                for questions in self.batches([u for u in batch if u.id not in scored], self.batch_size):
                    scored.update(self._batch(scope, questions, provenance, warnings))
            if progress:
                progress(SEGMENT_QUESTION_ID)
        return [scored[u.id] for u in units]

    def _read_slots(
        self, scope: Scope, units: list[Unit], provenance: list[Provenance], warnings: list[Warning]
    ) -> dict[int, SegmentSentiment]:
        """The batch's labels from slots; empty (the batch is then asked as questions) when the model cannot
        read them (never again for this call) or its provider fails (this batch only, so a fallback model
        answers it)."""
        template = self.prompts[SLOT_TEMPLATE]
        system = self.prompts.system_for(SLOT_TEMPLATE, scope.system)
        request = SlotRequest(
            model=self.model,
            messages=[system, ChatMessage(role="user", content=template.render(first=units[0].key))],
            lines=[slot_line(u) for u in units],
            labels=list(LABELS),
        )
        try:
            response = cast(SlotScoring, self.llm).score_slots(request)
        except (SlotsUnsupportedError, ProviderError) as exc:
            if isinstance(exc, ProviderError) and not exc.retryable:
                raise
            self.slots = self.slots and not isinstance(exc, SlotsUnsupportedError)
            warnings.append(Warning(code="segments.no_slots", question_id=SEGMENT_QUESTION_ID, message=exc.message))
            return {}
        provenance.append(
            slot_provenance(
                SEGMENT_QUESTION_ID,
                template,
                self.model,
                response,
                window=scope.window,
                segment_ids=sorted({u.segment.id for u in units}),
            )
        )
        return {
            unit.id: _sentiment(unit, from_probabilities(_labelled(probabilities), self.thresholds, self.slot_band))
            for unit, probabilities in zip(units, response.probabilities, strict=True)
        }

    def _batch(
        self,
        scope: Scope,
        units: list[Unit],
        provenance: list[Provenance],
        warnings: list[Warning],
        *,
        repair: bool = False,
    ) -> dict[int, SegmentSentiment]:
        keys = [u.key for u in units]
        with_confidence = self.with_confidence or repair
        answered = ask_row(
            self.llm,
            self.prompts,
            SEGMENTS,
            Situation(scope=scope, batch=tuple(units), with_confidence=with_confidence),
            model=self.model,
            max_reasks=self.max_reasks,
            question_id=SEGMENT_REPAIR_ID if repair else SEGMENT_QUESTION_ID,
        )
        provenance.append(
            answered.provenance.model_copy(
                update={"window": scope.window, "segment_ids": sorted({u.segment.id for u in units})}
            )
        )
        values = answered.value.root
        unknown = [k for k in values if k not in keys]
        if unknown:
            warnings.append(
                Warning(
                    code="segments.unknown_ids",
                    question_id=SEGMENT_QUESTION_ID,
                    message=f"ignored labels for ids that were not asked: {', '.join(unknown)[:200]}",
                )
            )
        response = answered.response
        if response.logprobs is None and not with_confidence:
            self.with_confidence = True  # this provider returns no logprobs: ask for confidences from now on
        probabilities = keyed_label_probabilities(response.content, response.logprobs, [k for k in keys if k in values])
        results: dict[int, SegmentSentiment] = {}
        unscored: list[Unit] = []
        for unit, key in zip(units, keys, strict=True):
            value = values.get(key)
            scored = self._scored(value, probabilities.get(key))
            if scored is None:
                unscored.append(unit)
            else:
                results[unit.id] = _sentiment(unit, scored)
        if unscored:
            if repair:
                raise InvalidAnswerError(
                    f"{SEGMENT_QUESTION_ID}: {response.model} gave no usable label for "
                    f"{', '.join(u.key for u in unscored)} even when asked for them alone",
                    hint="Try another model (--model) or a smaller LLM_SENTIMENT_SEGMENT_BATCH_SIZE.",
                    last_answer=response.content[:500],
                )
            results.update(self._batch(scope, unscored, provenance, warnings, repair=True))
        return results

    def _scored(self, value: Label | LabelAnswer | None, probabilities: dict[Label, float] | None) -> Scored | None:
        """None when the line has no label, or a bare label without the logprobs to score it."""
        if value is None:
            return None
        label = value.label if isinstance(value, LabelAnswer) else value
        if probabilities:
            return from_probabilities(probabilities, self.thresholds)
        if isinstance(value, LabelAnswer):
            return from_model(label, value.confidence, self.thresholds)
        return None


def slot_line(unit: Unit) -> str:
    """A line as the slot answer copies it: ``[7.2] CUSTOMER: words ->`` (the label is read after the arrow)."""
    return f"[{unit.key}] {(unit.segment.role or 'unknown').upper()}: {as_data(unit.text)}{SLOT_MARK}"


def _labelled(probabilities: dict[str, float]) -> dict[Label, float]:
    return {label: round(float(probabilities.get(label, 0.0)), 4) for label in LABELS}


def _sentiment(unit: Unit, scored: Scored) -> SegmentSentiment:
    return SegmentSentiment(
        id=unit.id,
        segment_id=unit.segment.id,
        sentence=unit.sentence,
        text=unit.text,
        speaker=unit.segment.speaker,
        role=unit.segment.role,
        start=unit.start,
        end=unit.end,
        timing=unit.timing,
        label=scored.label,
        score=scored.score,
        confidence=scored.confidence,
        confidence_source=scored.source,
        probabilities=scored.probabilities,
    )
