from __future__ import annotations

from collections.abc import Iterator

import pytest

from llm_sentiment.errors import OneRoleError, RolesSpecError
from llm_sentiment.roles.rules import assign_roles, parse_roles_spec
from llm_sentiment.transcript.formats import parse_transcript
from llm_sentiment.transcript.model import Segment, Transcript


def _roles(text: str, spec: str | None = None) -> tuple[dict[str, str], str]:
    t = assign_roles(parse_transcript(text.encode()), parse_roles_spec(spec) if spec else None)
    assert t.role_mapping is not None
    assert all(s.role == t.role_mapping.speakers[s.speaker] for s in t.segments)
    return dict(t.role_mapping.speakers), t.role_mapping.source


def test_spec_wins_and_completes_the_other_speaker() -> None:
    mapping, source = _roles("Rep: hi\nCaller: hello\n", "Caller=customer")
    assert mapping == {"Rep": "agent", "Caller": "customer"} and source == "argument"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Rep: Hello.\nCaller: Hi.\n", {"Rep": "agent", "Caller": "customer"}),
        (
            "Member: Hi, I need help.\nCustomer Support: Sure thing.\n",
            {"Member": "customer", "Customer Support": "agent"},
        ),
        ("C: hello\nA: hi there\n", {"C": "customer", "A": "agent"}),
        ("Customer: hey\nAgent: hello\n", {"Customer": "customer", "Agent": "agent"}),
        (
            "Agent 1: hello\nCaller: hi\nAgent 2: transferring you\n",
            {"Agent 1": "agent", "Caller": "customer", "Agent 2": "agent"},
        ),
    ],
)
def test_label_conventions(text: str, expected: dict[str, str]) -> None:
    mapping, source = _roles(text)
    assert mapping == expected and source == "labels"


def test_content_inference_finds_who_greets_for_the_company() -> None:
    text = (
        "Speaker B: Hi, I'm calling about my bill, I was charged twice.\n"
        "Speaker A: Thank you for calling Acme, how can I help? Let me check your account.\n"
        "Speaker B: It's the October bill.\n"
    )
    mapping, source = _roles(text)
    assert mapping == {"Speaker A": "agent", "Speaker B": "customer"} and source == "inference"


def test_one_speaker_is_refused() -> None:
    with pytest.raises(OneRoleError):
        _roles("Agent: hello\nAgent: anyone there?\n")


def test_both_speakers_on_one_side_is_refused() -> None:
    with pytest.raises(OneRoleError):
        _roles("X: hi\nY: hello\n", "X=agent,Y=agent")


@pytest.mark.parametrize("spec", ["Rep", "Rep=boss", "=agent", ",", "Rep=agent,Caller=client"])
def test_bad_spec(spec: str) -> None:
    with pytest.raises(RolesSpecError):
        parse_roles_spec(spec)


def test_spec_naming_an_unknown_speaker() -> None:
    with pytest.raises(RolesSpecError, match="not in the transcript"):
        _roles("Rep: hi\nCaller: hello\n", "Agent=agent")


class _CountingSegments(list[Segment]):
    """The transcript's segment list, counting every segment a loop over it visits."""

    visited = 0

    def __iter__(self) -> Iterator[Segment]:
        for segment in super().__iter__():
            type(self).visited += 1
            yield segment


def test_role_inference_walks_the_segments_a_few_times_not_once_per_speaker() -> None:
    speakers = 2000  # one segment each: grouping per speaker inside the loop visited 4,000,000
    transcript = Transcript(segments=[Segment(id=i + 1, speaker=f"S{i}", text="hello there") for i in range(speakers)])
    transcript.__dict__["segments"] = _CountingSegments(transcript.segments)
    _CountingSegments.visited = 0
    assigned = assign_roles(transcript)
    assert assigned.role_mapping is not None and assigned.role_mapping.source == "inference"
    assert set(assigned.role_mapping.speakers.values()) == {"agent", "customer"}
    assert _CountingSegments.visited <= 5 * speakers
