"""Every sentence of the summary and the resolution's reason must be shown by a line of the transcript.

The 1.5B model writes fluent endings nobody said ("the customer was satisfied and agreed to switch"),
so one question (``questions.SUPPORT``) asks, for all of them at once, whether a line shows each
statement and which one. The answer names line ids from the quote menu (or ``none``), never text, so
the grammar holds no transcript or summary words. A statement counts as supported only when the
model says so *and* names a line that exists. What happens to an unsupported one (re-asked, dropped,
or the resolution reported as unclear, or its reason left out) is the analyzer's; this module says which ones and why.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from llm_sentiment.ask.answers import ResolutionAnswer, SupportAnswer, Verdict
from llm_sentiment.transcript.text import split_sentences

from .grounding import QuoteMenu
from .result import Warning

RESOLUTION_KEY = "R"


@dataclass(frozen=True)
class Claim:
    """One statement to check: ``S1``… for the summary's sentences, ``R`` for the resolution's reason."""

    key: str
    text: str


def sentence_claims(summary: str) -> tuple[Claim, ...]:
    return tuple(Claim(f"S{i}", sentence) for i, sentence in enumerate(split_sentences(summary.strip()), start=1))


def reason_claims(answer: ResolutionAnswer) -> tuple[Claim, ...]:
    """The resolution's reason, unless the status is ``unclear``: "the transcript does not show it" is a claim
    about an absence, which no line can show."""
    return () if answer.resolution == "unclear" else (Claim(RESOLUTION_KEY, answer.reasoning.strip()),)


def unsupported(answer: SupportAnswer, claims: Iterable[Claim], menu: QuoteMenu) -> list[Claim]:
    """The claims without a "supported" verdict naming a line of the transcript (a missing verdict included)."""
    return [c for c in claims if not _supports(answer.root.get(c.key), menu)]


def _supports(verdict: Verdict | None, menu: QuoteMenu) -> bool:
    return verdict is not None and verdict.supported and menu.has_id(verdict.line)


_PERSON = re.compile(r"\b(?:(customer|caller|client)|(agent|rep|representative))\b", re.IGNORECASE)
_FEELING = re.compile(
    r"\b(?:(satisf(?:ied|action)|happy|pleased|delighted|grateful|content|relieved|thrilled)|"
    r"(dissatisf(?:ied|action)|unhappy|frustrat(?:ed|ion)|angry|anger|upset|annoyed|annoyance|disappointed|"
    r"disappointment|irritated|furious))\b",
    re.IGNORECASE,
)
_NEGATION = re.compile(r"^(?:not|never|no|hardly|without)$|n't$", re.IGNORECASE)


def contradicting(claims: Iterable[Claim], judged: dict[str, str]) -> list[Claim]:
    """The claims that give a person a feeling their judged label rules out (``judged``: ``customer`` and
    ``agent`` to ``positive``/``neutral``/``negative``). The support question reads "Thanks, I guess" as
    satisfaction; the analysis has already judged that customer negative, and the report must not say both.
    A feeling word belongs to the person named fewest words away (the one before it on a tie), a negation in
    the three words before it flips it; sentences naming nobody are left to the support question."""
    return [c for c in claims if any(_rules_out(judged.get(who, ""), pleased) for who, pleased in _feelings(c.text))]


def _feelings(sentence: str) -> list[tuple[str, bool]]:
    """Each feeling word as (whose, pleased)."""
    people = [(m.start(), m.end(), "customer" if m.group(1) else "agent") for m in _PERSON.finditer(sentence)]
    if not people:
        return []
    found = []
    for match in _FEELING.finditer(sentence):
        who = min(people, key=lambda person: _words_apart(sentence, person[:2], match.span()))[2]
        negated = any(_NEGATION.search(word) for word in sentence[: match.start()].split()[-3:])
        found.append((who, bool(match.group(1)) != negated))
    return found


def _words_apart(sentence: str, person: tuple[int, int], word: tuple[int, int]) -> tuple[int, bool]:
    """How many words lie between a person's mention and a word; on a tie the mention before it wins."""
    between = sentence[person[1] : word[0]] if person[1] <= word[0] else sentence[word[1] : person[0]]
    return len(between.split()), person[0] > word[0]


def _rules_out(label: str, pleased: bool) -> bool:
    return label in {"neutral", "negative"} if pleased else label == "positive"


def _listed(claims: Iterable[Claim]) -> str:
    return "; ".join(repr(c.text[:160]) for c in claims)


def reask_problem(claims: Iterable[Claim]) -> str:
    """Why the summary is asked again: the sentences no line shows (or that contradict a judged label), by
    their own words."""
    return (
        f"no transcript line shows these sentences, or they contradict how the call was judged: {_listed(claims)}. "
        "Write the summary again, in 2 to 4 sentences that say only what the transcript shows"
    )


def dropped_warning(dropped: list[Claim], total: int, question_id: str) -> Warning:
    left = "the summary is left empty" if len(dropped) == total else "they are left out of the summary"
    return Warning(
        code="summary.unsupported",
        question_id=question_id,
        message=f"{len(dropped)} of {total} summary sentences are not supported by the transcript (or contradict "
        f"a judged label) after a re-ask, and {left}: {_listed(dropped)}",
    )


def unsupported_reason_warning(answer: ResolutionAnswer, question_id: str, *, probed: bool) -> Warning:
    """``probed``: the status came from a probe, not from the reason, so it stays and only the reason goes."""
    outcome = (
        "the reason and its quote are left out (the status is the probe's)"
        if probed
        else "so the resolution is reported as 'unclear'"
    )
    return Warning(
        code="resolution.unsupported",
        question_id=question_id,
        message=f"the transcript does not support the reason given for {answer.resolution!r}, {outcome}: "
        f"{answer.reasoning.strip()[:160]!r}",
    )
