"""Which voice is the agent: what each diarized speaker says, then an LLM when that is unclear.

The speaker who greets for the company ("thank you for calling…", "how can I help") is the agent;
``roles.from_content`` scores that. Only when the words carry no real cue, and an LLM is at hand,
is the model asked, with answers constrained to the speaker labels: once who the agent is and once
who the customer is. Small models lean towards whichever label comes first, so the pick counts
only when the two answers agree; otherwise the word cues stand. A pick that agrees with the cues
raises the confidence; one that overrules them is used but stays below the low-confidence mark,
so the analysis warns. Transcribing never needs an LLM.
"""

from __future__ import annotations

from llm_sentiment.ask.answers import SpeakerAnswer, speaker_schema
from llm_sentiment.ask.asking import ask
from llm_sentiment.ask.prompts import PromptSet
from llm_sentiment.llm.base import ChatMessage, LLMClient
from llm_sentiment.transcript.model import Role, RoleMapping, Transcript

from .rules import from_content

TEMPLATE_ID = "speaker_roles"
_EXCERPT_SEGMENTS = 16
_ANSWER_TOKENS = 24
CONFIRMED_CONFIDENCE = 0.75
"""The LLM names the same agent as the weak word cues: better than either alone, below a clear greeting."""
OVERRULED_CONFIDENCE = 0.5
"""The LLM names the other speaker: its pick is used, but two weak signals disagree, so it is flagged."""
ASK_BELOW = 0.7
"""Word cues below this are unclear: who spoke first alone scores 0.62, one real cue lifts it above 0.8."""


class RoleQuestion:
    """The LLM fallback: two constrained questions, each answered with a speaker label."""

    def __init__(self, llm: LLMClient, prompts: PromptSet, model: str, max_reasks: int) -> None:
        self.llm = llm
        self.prompts = prompts
        self.model = model
        self.max_reasks = max_reasks

    def messages(self, transcript: Transcript, role: Role) -> list[ChatMessage]:
        rows = [{"id": s.id, "speaker": s.speaker, "text": s.text} for s in transcript.segments[:_EXCERPT_SEGMENTS]]
        content = self.prompts[TEMPLATE_ID].render(speakers=transcript.speakers(), segments=rows, role=role.upper())
        return [ChatMessage(role="user", content=content)]

    def _who(self, transcript: Transcript, role: Role) -> tuple[str | None, str]:
        speakers = transcript.speakers()
        answered = ask(
            self.llm,
            model=self.model,
            question_id=f"{TEMPLATE_ID}.{role}",
            template=self.prompts[TEMPLATE_ID],
            messages=self.messages(transcript, role),
            output=SpeakerAnswer,
            schema=speaker_schema(speakers),
            max_tokens=_ANSWER_TOKENS,
            max_reasks=self.max_reasks,
            check=lambda a: None if a.speaker in speakers else f"{a.speaker!r} is not one of {', '.join(speakers)}",
        )
        speaker = None if answered.unresolved else answered.value.speaker
        return speaker, answered.provenance.model_used

    def agent(self, transcript: Transcript) -> tuple[str | None, str]:
        """The agent's label when the model names the two speakers consistently, else None; and the model."""
        agent, model = self._who(transcript, "agent")
        customer, _ = self._who(transcript, "customer")
        return (agent if agent and customer and agent != customer else None), model


def diarized_roles(transcript: Transcript, separation: float, question: RoleQuestion | None = None) -> RoleMapping:
    """Roles for two voices; the confidence is the weaker of telling the voices apart and naming them."""
    mapping = from_content(transcript)
    speakers = transcript.speakers()
    note = ""
    if mapping.confidence < ASK_BELOW and question is not None and len(speakers) == 2:
        agent, model = question.agent(transcript)
        if agent is None:
            note = f"; {model} gave inconsistent answers"
        elif mapping.speakers[agent] == "agent":
            mapping = mapping.model_copy(update={"confidence": CONFIRMED_CONFIDENCE})
            note = f"; {model} agrees"
        else:
            roles: dict[str, Role] = {s: "agent" if s == agent else "customer" for s in speakers}
            why = f"named by {model} (word cues were unclear and pointed the other way)"
            mapping = RoleMapping(
                speakers=roles,
                source="diarization",
                confidence=OVERRULED_CONFIDENCE,
                evidence=dict.fromkeys(roles, why),
            )
    evidence = {s: f"voice {i + 1}; {mapping.evidence.get(s, '')}{note}".rstrip("; ") for i, s in enumerate(speakers)}
    return mapping.model_copy(
        update={
            "source": "diarization",
            "confidence": round(min(mapping.confidence, separation), 3),
            "evidence": evidence,
        }
    )
