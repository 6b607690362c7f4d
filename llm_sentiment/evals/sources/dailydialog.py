"""DailyDialog's service encounters: hotel desks, shops, ticket offices, banks and switchboards from
the DailyDialog corpus, with the emotion its annotators gave every utterance.

DailyDialog has no speaker roles. A conversation counts as a service encounter when one of its
first two utterances offers help ("Can I help you?", "What can I do for you?"); whoever says it is
the agent, the other speaker the customer. The source labels utterances only; the customer's and the
call's labels are derived from them by a written rule (``role_sentiment``, ``call_sentiment``), the
agent's are not (its negative utterances are mostly apologies). Mapping rules and figures:
evals/datasets/dailydialog-service/README.md.
"""

from __future__ import annotations

import re
import zipfile
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from llm_sentiment.ask.answers import Label
from llm_sentiment.evals.dataset import CallLabels, EvalCall, RoleLabels
from llm_sentiment.evals.sources.base import Conversion, RemoteFile, Source, sample, shortest_covering, split_of

NAME = "dailydialog-service"
_REPO = "Ls-Dai/Deep-Reinforcement-Learning-for-Dialogue-Generation-in-PyTorch"
_COMMIT = "bae51b16e3e8c0ce4ffd70b75ecfc40fbeb8e7ee"
ARCHIVES = {
    "train": RemoteFile(
        (_REPO,), _COMMIT, "data/train.zip", "6191257f8250da0e045bfd1d017645e15b2358df975ec4c5c431a5a1f99662a4"
    ),
    "validation": RemoteFile(
        (_REPO,), _COMMIT, "data/validation.zip", "f068cf7526a56ab5f26e99b74ce9edbc2766f7b060a3c6cef035920b0dd28153"
    ),
    "test": RemoteFile(
        (_REPO,), _COMMIT, "data/test.zip", "5f9526a5ce4b8af4ca237aa3ff38cbf03becbc596c70b0974d7f5f9af2ea0615"
    ),
}
"""The corpus's own train/validation/test archives (13,118 dialogues), unchanged in this repository."""
PER_STRATUM = 18
"""Conversations per stratum (with a negative utterance / with a positive one / neither) per split."""

EMOTIONS = ("no emotion", "anger", "disgust", "fear", "happiness", "sadness", "surprise")
_LABELS: dict[str, Label | None] = {
    "no emotion": "neutral",
    "happiness": "positive",
    "anger": "negative",
    "disgust": "negative",
    "fear": "negative",
    "sadness": "negative",
    "surprise": None,
}
_HELP_OFFER = re.compile(
    r"\b(?:can|may|could) i help you|what can i do for you|how (?:can|may) i (?:help|assist)|help you with\b"
    r"|(?:can|may) i be of (?:any )?(?:help|service|assistance)",
    re.IGNORECASE,
)


def emotion_label(emotion: str) -> Label | None:
    """Happiness is positive; anger, disgust, fear and sadness are negative; no emotion is neutral.
    Surprise is None: it has no valence (delight and dismay are both surprise), so the source does not
    say whether the speaker was pleased or put out."""
    return _LABELS[emotion]


def agent_index(utterances: Sequence[str]) -> int | None:
    """0 or 1: which of the two speakers offers help in one of the first two utterances (the agent);
    None for a conversation that is not a service encounter."""
    return next((i for i, text in enumerate(utterances[:2]) if _HELP_OFFER.search(text)), None)


def detokenize(text: str) -> str:
    """The corpus is tokenized ("I ’ ll be there , sir ."): rejoin punctuation and apostrophes."""
    text = re.sub(r"\s*’\s*", "’", text.strip())
    text = re.sub(r"\s+([,.!?;:%)])", r"\1", text)
    return re.sub(r"([($])\s+", r"\1", text)


@dataclass(frozen=True)
class Dialogue:
    part: str
    index: int
    utterances: tuple[str, ...]
    emotions: tuple[str, ...]


def read_dialogues(part: str, archive: Path) -> list[Dialogue]:
    """One part's dialogues; lines whose utterance and label counts differ are left out."""
    with zipfile.ZipFile(archive) as members:
        texts = members.read(f"{part}/dialogues_{part}.txt").decode("utf-8").splitlines()
        labels = members.read(f"{part}/dialogues_emotion_{part}.txt").decode("utf-8").splitlines()
    dialogues = []
    for index, (text, codes) in enumerate(zip(texts, labels, strict=True)):
        utterances = tuple(u.strip() for u in text.split("__eou__") if u.strip())
        emotions = tuple(EMOTIONS[int(code)] for code in codes.split())
        if len(utterances) == len(emotions):
            dialogues.append(Dialogue(part, index, utterances, emotions))
    return dialogues


_RUDE = frozenset({"anger", "disgust"})
_ONE_WORSE: dict[Label, Label] = {"positive": "neutral", "neutral": "negative", "negative": "negative"}


def role_sentiment(labels: Sequence[Label]) -> Label:
    """The label of the role's last utterance that is not neutral, else neutral: the labeling guide's
    "prevailing sentiment with most weight on the end", where emotions are as sparse as here (one or
    two per role) and a closing neutral line ("OK.") does not undo what came before."""
    return next((label for label in reversed(labels) if label != "neutral"), "neutral")


def call_sentiment(customer: Label, agent_emotions: Sequence[str]) -> Label:
    """The guide's call label: the customer's end state, one step worse when the agent shows anger or
    disgust (a rude agent). The agent's sadness is left alone: in these dialogues it is apologies."""
    return _ONE_WORSE[customer] if _RUDE.intersection(agent_emotions) else customer


def convert_dialogue(dialogue: Dialogue) -> EvalCall | None:
    """A service encounter whose every utterance maps to a label, or None."""
    agent = agent_index(dialogue.utterances)
    if agent is None or len(dialogue.utterances) < 2:
        return None
    labels = [emotion_label(e) for e in dialogue.emotions]
    segments = [label for label in labels if label is not None]
    if len(segments) != len(labels):
        return None
    speakers = ["Agent" if i % 2 == agent % 2 else "Customer" for i in range(len(dialogue.utterances))]
    conversation = f"{dialogue.part}-{dialogue.index:05d}"
    customer = role_sentiment([label for label, s in zip(segments, speakers, strict=True) if s == "Customer"])
    agent_emotions = [e for e, s in zip(dialogue.emotions, speakers, strict=True) if s == "Agent"]
    counts = Counter(dialogue.emotions)
    return EvalCall(
        id=f"dd-{conversation}",
        split=split_of(NAME, conversation),
        summary=(
            f"DailyDialog {dialogue.part} dialogue {dialogue.index}, a service encounter (the agent offers help in "
            f"line {agent + 1}). Utterance emotions: " + ", ".join(f"{e} {n}" for e, n in sorted(counts.items())) + "."
        ),
        transcript="".join(f"{s}: {detokenize(u)}\n" for s, u in zip(speakers, dialogue.utterances, strict=True)),
        labels=CallLabels(
            customer=RoleLabels(sentiment=customer),
            overall=call_sentiment(customer, agent_emotions),
            segments=segments,
        ),
    )


def stratum(call: EvalCall) -> Label:
    """negative: any negative utterance; positive: a positive one and no negative; else neutral."""
    segments = call.labels.segments or []
    if "negative" in segments:
        return "negative"
    return "positive" if "positive" in segments else "neutral"


def pool(raw: Mapping[str, Path]) -> list[EvalCall]:
    """Every service encounter (969), both splits: the sample below is drawn from these."""
    seen: set[tuple[str, ...]] = set()
    calls: list[EvalCall] = []
    for part, remote in ARCHIVES.items():
        for dialogue in read_dialogues(part, raw[remote.name]):
            if dialogue.utterances in seen:  # the corpus repeats some dialogues across its parts
                continue
            seen.add(dialogue.utterances)
            call = convert_dialogue(dialogue)
            if call is not None:
                calls.append(call)
    return calls


def convert(raw: Mapping[str, Path]) -> Conversion:
    every = pool(raw)
    calls = [
        call
        for split in ("dev", "test")
        for call in sample(
            (c for c in every if c.split == split),
            source=NAME,
            key=lambda c: c.id,
            stratum=stratum,
            per_stratum=PER_STRATUM,
        )
    ]
    description = (
        f"Service encounters from DailyDialog ({_REPO}@{_COMMIT[:12]}: the corpus's train, validation and test "
        "archives): conversations where one of the first two utterances offers help; that speaker is the agent. "
        "Per-segment labels from the source's per-utterance emotions (happiness positive; anger, disgust, "
        "fear, sadness negative; no emotion neutral; conversations with surprise left out); the customer's label "
        "derived from them (its last non-neutral utterance), the call's the same, one step worse where the agent "
        "shows anger or disgust; the agent is not labeled. "
        f"{len(every)} such conversations; sampled {PER_STRATUM} per stratum (a negative utterance / a positive one / "
        "neither) per split by a hash of the id. Licence: CC BY-NC-SA 4.0, as the source's (see the README)."
    )
    ci = shortest_covering(calls, lambda c: {stratum(c)}, ("negative", "positive", "neutral"), per_label=2)
    return Conversion(calls=calls, description=description, subsets={"ci": ci})


SOURCE = Source(name=NAME, files=tuple(ARCHIVES.values()), convert=convert, pool=pool)
