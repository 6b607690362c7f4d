"""Which speaker is the agent and which the customer: from the user, the labels, or what they say."""

from __future__ import annotations

import math
import re
from typing import cast, get_args

from llm_sentiment.errors import OneRoleError, RolesSpecError
from llm_sentiment.speech.recording import channel_speaker
from llm_sentiment.transcript.model import Role, RoleMapping, Segment, Transcript, Warning

ROLES: tuple[str, ...] = get_args(Role)
LOW_CONFIDENCE = 0.6
"""Below this a role mapping is flagged with a ``roles.low_confidence`` warning."""

# Checked before the customer words: "Customer Support" and "Customer Service" are the agent.
_AGENT_LABELS = {
    "agent",
    "rep",
    "representative",
    "customer support",
    "customer service",
    "customer care",
    "support",
    "csr",
    "advisor",
    "adviser",
    "operator",
    "associate",
    "specialist",
    "consultant",
    "staff",
    "employee",
    "receptionist",
    "sales",
    "technician",
    "tech support",
    "helpdesk",
    "help desk",
    "service desk",
    "clerk",
    "concierge",
    "coordinator",
    "dispatcher",
    "banker",
    "pharmacist",
    "company",
    "bot",
    "assistant",
    "ai",
}
_CUSTOMER_LABELS = {
    "customer",
    "caller",
    "client",
    "member",
    "user",
    "patient",
    "guest",
    "subscriber",
    "policyholder",
    "account holder",
    "buyer",
    "consumer",
    "tenant",
    "student",
    "parent",
    "passenger",
    "visitor",
    "borrower",
}
_LETTER_PAIRS = {frozenset({"a", "c"}): {"a": "agent", "c": "customer"}}

_AGENT_CUES = [
    (r"\bthank(s| you) for (calling|contacting|holding|your patience)", 3.0),
    (r"\b(you've|you have) reached\b|\bwelcome to\b", 3.0),
    (r"\bhow (can|may) i (help|assist)", 3.0),
    (r"\bthis is \w+ (from|with|at)\b|\bmy name is \w+", 1.5),
    (r"\bon a recorded line\b|\bmay be recorded\b", 2.0),
    (r"\b(is there )?anything else (i can|we can)", 2.0),
    (r"\blet me (check|look|pull|see|transfer|get|verify)", 1.5),
    (r"\b(can|could|may) i (have|get) your\b|\b(please )?(confirm|verify) your\b", 2.0),
    (r"\bi('ve| have) (processed|applied|issued|refunded|credited|escalated|updated|scheduled)", 2.0),
    (r"\b(sorry|apologi[sz]e) for (the|any) (inconvenience|trouble|wait|delay)", 1.5),
    (r"\bhave a (great|good|nice|wonderful) (day|evening|weekend)", 1.0),
]
_CUSTOMER_CUES = [
    (r"\bi('m| am) calling (about|because|to|regarding)", 3.0),
    (r"\bi (have|had|got) (a|an) (problem|issue|question|complaint)", 2.0),
    (r"\bmy (order|account|bill|card|package|internet|phone|refund|payment|subscription|policy|claim|car)\b", 1.0),
    (r"\bi was (charged|billed|told|promised)", 2.0),
    (r"\bi (want|need|would like|'d like) to (cancel|return|dispute|complain|close|change|upgrade|know)", 1.5),
    (r"\b(it|this) (doesn't|does not|isn't|is not|still) (work|working)", 1.5),
    (r"\bwhy (was|did|is|am) (i|my)\b", 1.5),
]


def parse_roles_spec(spec: str) -> dict[str, Role]:
    """`Rep=agent,Caller=customer` → {"Rep": "agent", "Caller": "customer"}."""
    mapping: dict[str, Role] = {}
    for item in (p.strip() for p in spec.split(",")):
        if not item:
            continue
        speaker, sep, role = item.rpartition("=")
        role = role.strip().lower()
        if not sep or not speaker.strip() or role not in ROLES:
            raise RolesSpecError(
                f"bad --roles entry {item!r}",
                hint='Write it as "Label=agent,Label=customer", e.g. --roles "Rep=agent,Caller=customer".',
            )
        mapping[speaker.strip()] = cast(Role, role)
    if not mapping:
        raise RolesSpecError("--roles is empty", hint='e.g. --roles "Rep=agent,Caller=customer"')
    return mapping


def _normalise_label(label: str) -> str:
    return re.sub(r"[\s_\-]*(#?\d+)$", "", label.strip().lower()).strip()


def _role_from_label(label: str) -> Role | None:
    norm = _normalise_label(label)
    if norm in _AGENT_LABELS or any(
        norm.startswith(a + " ") or norm.endswith(" " + a) for a in _AGENT_LABELS if " " not in a
    ):
        return "agent"
    if norm in _CUSTOMER_LABELS or any(
        norm.startswith(c + " ") or norm.endswith(" " + c) for c in _CUSTOMER_LABELS if " " not in c
    ):
        return "customer"
    return None


def cue_score(segments: list[Segment]) -> tuple[float, str]:
    """Positive when the speaker talks like the company, negative when like the caller."""
    score, best, best_weight = 0.0, "", 0.0
    for position, segment in enumerate(segments[:6]):
        text = segment.text.lower()
        decay = 1.0 / (1 + 0.25 * position)
        for pattern, weight in _AGENT_CUES:
            if m := re.search(pattern, text):
                score += weight * decay
                if weight * decay > best_weight:
                    best, best_weight = f"says {m.group(0)!r}", weight * decay
        for pattern, weight in _CUSTOMER_CUES:
            if m := re.search(pattern, text):
                score -= weight * decay
                if weight * decay > best_weight:
                    best, best_weight = f"says {m.group(0)!r}", weight * decay
    return score, best


def _complete(mapping: dict[str, Role], speakers: list[str]) -> dict[str, Role] | None:
    """With one speaker left unmapped and one role unused, the remaining speaker takes it."""
    missing = [s for s in speakers if s not in mapping]
    unused = [r for r in ROLES if r not in mapping.values()]
    if len(missing) == 1 and len(unused) == 1:
        return {**mapping, missing[0]: cast(Role, unused[0])}
    return mapping if not missing else None


def _check_both_roles(mapping: RoleMapping) -> RoleMapping:
    present = set(mapping.speakers.values())
    if present != set(ROLES):
        only = ", ".join(sorted(present)) or "none"
        raise OneRoleError(
            f"the transcript has only one role ({only}); an agent and a customer are both needed",
            hint='Check the speaker labels, or name them with --roles "Label=agent,Label=customer".',
        )
    return mapping


def _from_argument(transcript: Transcript, spec: dict[str, Role]) -> RoleMapping:
    speakers = transcript.speakers()
    unknown = [s for s in spec if s not in speakers]
    if unknown:
        raise RolesSpecError(
            f"--roles names speakers not in the transcript: {', '.join(unknown)}",
            hint=f"The transcript's speakers are: {', '.join(speakers)}.",
        )
    completed = _complete(dict(spec), speakers)
    if completed is None:
        missing = [s for s in speakers if s not in spec]
        raise RolesSpecError(
            f"--roles leaves speakers without a role: {', '.join(missing)}",
            hint="Give every speaker a role.",
        )
    return RoleMapping(
        speakers=completed, source="argument", confidence=1.0, evidence=dict.fromkeys(completed, "given with --roles")
    )


def _from_labels(speakers: list[str]) -> RoleMapping | None:
    letters = frozenset(_normalise_label(s) for s in speakers)
    if letters in _LETTER_PAIRS:
        pair = _LETTER_PAIRS[letters]
        return RoleMapping(
            speakers={s: cast(Role, pair[_normalise_label(s)]) for s in speakers},
            source="labels",
            confidence=0.9,
            evidence=dict.fromkeys(speakers, "A/C label convention"),
        )
    by_label = {s: r for s in speakers if (r := _role_from_label(s))}
    completed = _complete(by_label, speakers)
    if completed is None or set(completed.values()) != set(ROLES):
        return None
    evidence = {s: f"label {s!r}" if s in by_label else "the other speaker" for s in completed}
    return RoleMapping(speakers=completed, source="labels", confidence=0.95, evidence=evidence)


def _by_speaker(segments: list[Segment]) -> dict[str, list[Segment]]:
    """Each speaker's segments, in order of first appearance: one pass, however many speakers."""
    grouped: dict[str, list[Segment]] = {}
    for segment in segments:
        grouped.setdefault(segment.speaker, []).append(segment)
    return grouped


def from_content(transcript: Transcript) -> RoleMapping:
    grouped = _by_speaker(transcript.segments)
    speakers = list(grouped)
    scores: dict[str, float] = {}
    evidence: dict[str, str] = {}
    for index, speaker in enumerate(speakers):
        score, why = cue_score(grouped[speaker])
        prior = 0.5 if index == 0 else 0.0  # whoever answers the phone usually speaks first
        scores[speaker] = score + prior
        evidence[speaker] = why or ("speaks first" if index == 0 else "no cue")
    if len(speakers) < 2:
        return RoleMapping(speakers=dict.fromkeys(speakers, "customer"), source="inference", confidence=0.0)
    ranked = sorted(speakers, key=lambda s: scores[s], reverse=True)
    agent = ranked[0]
    mapping: dict[str, Role] = {
        s: ("agent" if s == agent or (scores[s] > 1.0 and scores[s] >= scores[agent] - 0.5) else "customer")
        for s in speakers
    }
    if set(mapping.values()) != set(ROLES):
        mapping[ranked[-1]] = "customer"
    margin = scores[agent] - max(scores[s] for s in speakers if mapping[s] == "customer")
    confidence = round(1 / (1 + math.exp(-margin)), 3)
    return RoleMapping(speakers=mapping, source="inference", confidence=confidence, evidence=evidence)


def assign_roles(transcript: Transcript, spec: dict[str, Role] | None = None) -> Transcript:
    """Roles given by the user win, then roles the input carries, then labels, then content."""
    if spec:
        mapping = _from_argument(transcript, spec)
    elif transcript.role_mapping is not None:
        mapping = transcript.role_mapping
    else:
        mapping = _from_labels(transcript.speakers()) or from_content(transcript)
    return transcript.with_roles(_check_both_roles(mapping))


def parse_channels_spec(spec: str) -> tuple[Role, Role]:
    """`agent,customer` → channel 0 is the agent, channel 1 the customer."""
    parts = tuple(p.strip().lower() for p in spec.split(","))
    if len(parts) != 2 or set(parts) != set(ROLES):
        raise RolesSpecError(
            f"bad --channels {spec!r}",
            hint="Name the role of channel 0 then channel 1: --channels agent,customer (or customer,agent).",
        )
    return cast(Role, parts[0]), cast(Role, parts[1])


_CHANNEL_CONFIDENCE = {"given": 1.0, "convention": 0.9, "contradicted": 0.5}
_CONTRADICTION_MARGIN = 2.0


def channel_mapping(
    transcript: Transcript, roles: tuple[Role, Role], *, given: bool
) -> tuple[RoleMapping, list[Warning]]:
    """Roles by channel; the default (channel 0 = agent) is checked against what each channel says."""
    present = set(transcript.speakers())
    speakers = {channel_speaker(i): role for i, role in enumerate(roles) if channel_speaker(i) in present}
    how = "given with --channels" if given else "channel convention (--channels to change)"
    evidence = {speaker: f"{speaker.lower()}: {how}" for speaker in speakers}
    warnings: list[Warning] = []
    confidence = _CHANNEL_CONFIDENCE["given" if given else "convention"]
    if not given and len(speakers) == 2:
        grouped = _by_speaker(transcript.segments)
        scores = {sp: cue_score(grouped[sp]) for sp in speakers}
        agent = next(sp for sp, role in speakers.items() if role == "agent")
        customer = next(sp for sp, role in speakers.items() if role == "customer")
        if scores[customer][0] - scores[agent][0] > _CONTRADICTION_MARGIN:
            confidence = _CHANNEL_CONFIDENCE["contradicted"]
            warnings.append(
                Warning(
                    code="roles.channel_mismatch",
                    message=f"{customer} talks like the agent ({scores[customer][1]}); if the channels are "
                    "swapped, pass --channels customer,agent",
                )
            )
    mapping = RoleMapping(speakers=speakers, source="channel", confidence=confidence, evidence=evidence)
    return mapping, warnings


INFERRED_SPEAKERS: dict[Role, str] = {"agent": "Agent (inferred)", "customer": "Customer (inferred)"}
UNKNOWN_SPEAKER = "Unknown speaker"


def roles_by_segment(transcript: Transcript) -> Transcript:
    """When voices cannot be told apart: each segment's role from its own words, or unknown; never guessed."""
    segments = []
    for segment in transcript.segments:
        score, _ = cue_score([segment])
        role: Role | None = "agent" if score > 0 else "customer" if score < 0 else None
        segments.append(segment.model_copy(update={"speaker": INFERRED_SPEAKERS[role] if role else UNKNOWN_SPEAKER}))
    found = {s.speaker for s in segments}
    speakers = {name: role for role, name in INFERRED_SPEAKERS.items() if name in found}
    labelled = sum(s.speaker != UNKNOWN_SPEAKER for s in segments) / max(1, len(segments))
    mapping = RoleMapping(
        speakers=speakers,
        source="inference",
        confidence=round(0.5 * labelled, 3),
        evidence=dict.fromkeys(speakers, "per-segment cues (speakers not separable)"),
    )
    return transcript.model_copy(update={"segments": segments}).with_roles(mapping)
