"""Which voice is the agent: what each diarized speaker says, then an LLM when that is unclear.

The speaker who greets for the company ("thank you for calling…", "how can I help") is the agent;
``roles.from_content`` scores that. Only when its confidence is low, and an LLM is at hand, is the
model asked one constrained question: the answer must be one of the speaker labels. Transcribing
never needs an LLM; without one, an unclear mapping keeps its low confidence and is flagged.
"""

from __future__ import annotations

from .analysis import Provenance
from .answers import SpeakerRoleAnswer, speaker_role_schema
from .asking import ask
from .llm import ChatMessage, LLMClient
from .roles import from_content
from .templates import PromptSet
from .transcript import Role, RoleMapping, Transcript

TEMPLATE_ID = "speaker_roles"
_EXCERPT_SEGMENTS = 16
_ANSWER_TOKENS = 24
LLM_CONFIDENCE = 0.75
"""What an LLM's pick is worth: better than weak word cues, below a clear greeting or a label."""
ASK_BELOW = 0.7
"""Word cues below this are unclear: who spoke first alone scores 0.62, one real cue lifts it above 0.8."""


class RoleQuestion:
    """The LLM fallback: one constrained question, answered with a speaker label."""

    def __init__(self, llm: LLMClient, prompts: PromptSet, model: str, max_reasks: int) -> None:
        self.llm = llm
        self.prompts = prompts
        self.model = model
        self.max_reasks = max_reasks

    def messages(self, transcript: Transcript) -> list[ChatMessage]:
        rows = [{"id": s.id, "speaker": s.speaker, "text": s.text} for s in transcript.segments[:_EXCERPT_SEGMENTS]]
        content = self.prompts[TEMPLATE_ID].render(speakers=transcript.speakers(), segments=rows)
        return [ChatMessage(role="user", content=content)]

    def agent(self, transcript: Transcript) -> tuple[str, Provenance]:
        speakers = transcript.speakers()
        answered = ask(
            self.llm,
            model=self.model,
            question_id=TEMPLATE_ID,
            template=self.prompts[TEMPLATE_ID],
            messages=self.messages(transcript),
            output=SpeakerRoleAnswer,
            schema=speaker_role_schema(speakers),
            max_tokens=_ANSWER_TOKENS,
            max_reasks=self.max_reasks,
            check=lambda a: None if a.agent in speakers else f"{a.agent!r} is not one of {', '.join(speakers)}",
        )
        if answered.unresolved:
            return "", answered.provenance
        return answered.value.agent, answered.provenance


def diarized_roles(transcript: Transcript, separation: float, question: RoleQuestion | None = None) -> RoleMapping:
    """Roles for two voices; the confidence is the weaker of telling the voices apart and naming them."""
    mapping = from_content(transcript)
    speakers = transcript.speakers()
    if mapping.confidence < ASK_BELOW and question is not None and len(speakers) == 2:
        agent, provenance = question.agent(transcript)
        if agent:
            roles: dict[str, Role] = {s: "agent" if s == agent else "customer" for s in speakers}
            why = f"named by {provenance.model_used} from the call's opening (word cues were unclear)"
            mapping = RoleMapping(
                speakers=roles, source="diarization", confidence=LLM_CONFIDENCE, evidence=dict.fromkeys(roles, why)
            )
    evidence = {s: f"voice {i + 1}; {mapping.evidence.get(s, '')}".rstrip("; ") for i, s in enumerate(speakers)}
    return mapping.model_copy(
        update={
            "source": "diarization",
            "confidence": round(min(mapping.confidence, separation), 3),
            "evidence": evidence,
        }
    )
