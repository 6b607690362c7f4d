"""The embedded model, for real: the bundled example's summary says only what the call shows (issue 13).

Before the support check, the default model summarised examples/billing_dispute.txt with "The customer was
satisfied with the refund and agreed to switch providers": the customer is fed up, and only threatens to
switch if it happens again.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from llm_sentiment.analysis.analyzer import Analyzer
from llm_sentiment.analysis.faithfulness import sentence_claims, unsupported
from llm_sentiment.analysis.grounding import quote_menu
from llm_sentiment.analysis.questions import SUPPORT, Scope, Situation, ask_row
from llm_sentiment.ask.prompts import PromptSet
from llm_sentiment.llm.fallback import FallbackLLM
from llm_sentiment.settings import Settings
from llm_sentiment.transcript.text import split_sentences
from llm_sentiment.transcript.units import sentiment_units
from llm_sentiment.wiring import build_router, load_call
from tests.conftest import REPO

pytestmark = pytest.mark.real_model

EXAMPLE = REPO / "examples" / "billing_dispute.txt"
SWITCH = re.compile(r"\bswitch", re.IGNORECASE)
AGREED = re.compile(r"\b(agree|accept|decide|decision|chose|choose|confirm|commit)", re.IGNORECASE)
PLEASED = re.compile(r"\b(satisf\w*|happy|pleased|delighted)\b", re.IGNORECASE)
ABOUT_THE_CUSTOMER = re.compile(r"\b(customer|caller|they|he|she)\b", re.IGNORECASE)
NEGATION = re.compile(r"^(not|never|no|hardly|less)$|n't$", re.IGNORECASE)


def agrees_to_switch(sentence: str) -> bool:
    return bool(SWITCH.search(sentence) and AGREED.search(sentence))


def calls_the_customer_satisfied(sentence: str) -> bool:
    """ "Satisfied" anywhere (nobody in the call says so), "happy" or "pleased" about the customer; "not
    satisfied" and "dissatisfied" are what happened."""
    for match in PLEASED.finditer(sentence):
        if not match.group(1).lower().startswith("satisf") and not ABOUT_THE_CUSTOMER.search(sentence):
            continue
        if not any(NEGATION.search(word) for word in sentence[: match.start()].split()[-3:]):
            return True
    return False


@pytest.mark.parametrize(
    ("sentence", "unfaithful"),
    [
        ("The customer was satisfied with the refund and agreed to switch providers.", True),
        ("The customer was happy with the outcome.", True),
        ("The customer decided to switch providers.", True),
        ("The customer threatened to switch providers if it happens again.", False),
        ("The customer was not satisfied and remained frustrated.", False),
        ("The customer was dissatisfied with being charged twice.", False),
        ("The agent issued a refund for the duplicate charge.", False),
    ],
)
def test_the_meaning_checks(sentence: str, unfaithful: bool) -> None:
    assert (agrees_to_switch(sentence) or calls_the_customer_satisfied(sentence)) is unfaithful


@pytest.fixture(scope="module")
def real() -> Iterator[tuple[Settings, FallbackLLM, PromptSet]]:
    settings = Settings(cache=False)  # the default model and prompts, asked for real
    router = build_router(settings)
    yield settings, router, PromptSet(settings.prompts_dir, settings.prompts_version)
    for hosted in router.local._models.values():
        hosted.close()


def test_the_example_summary_claims_nothing_the_call_does_not_show(real: Any) -> None:
    settings, router, prompts = real
    call = load_call(EXAMPLE)
    result = Analyzer(router, prompts, settings.analysis_options()).analyze(call, parts=("summary",))
    assert result.summary is not None and result.resolution is not None
    sentences = split_sentences(result.summary.text)
    print(f"\nsummary: {result.summary.text}\nresolution: {result.resolution.status} - {result.resolution.reasoning}")
    print("\n".join(f"warning [{w.code}] {w.message}" for w in result.warnings))
    assert {p.model_used for p in result.provenance} == {settings.model}
    assert "summary_support" in {p.question_id for p in result.provenance}
    assert result.resolution.status_source == "probe", "v5's resolution probe chose the status"
    assert "resolution_probe" in {p.question_id for p in result.provenance}

    assert sentences, "a faithful summary is still a summary"
    for sentence in [*sentences, result.resolution.reasoning]:
        assert not agrees_to_switch(sentence), sentence
        assert not calls_the_customer_satisfied(sentence), sentence

    # every sentence kept is supported, judged again on the final text alone
    lines = sentiment_units(call, settings.split_words)
    scope = Scope(system=prompts.system_message(lines), segments=call.segments, lines=lines)
    claims = sentence_claims(result.summary.text)
    checked = ask_row(
        router, prompts, SUPPORT, Situation(scope=scope, claims=claims), model=settings.model, max_reasks=2
    )
    print(f"re-checked: {checked.value.model_dump()}")
    assert unsupported(checked.value, claims, quote_menu(lines)) == []
