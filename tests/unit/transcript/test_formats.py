from __future__ import annotations

from pathlib import Path

import pytest

from llm_sentiment.errors import (
    EmptyInputError,
    EncodingError,
    InputNotFoundError,
    InvalidTranscriptError,
    UnknownFormatError,
)
from llm_sentiment.transcript.formats import load_transcript, parse_transcript
from tests.conftest import FIXTURES


def test_plain_text_with_any_labels_and_continuations() -> None:
    text = (
        b"Customer Support: Hello, thanks for calling.\nMember: Hi there.\nI have two questions.\n\n"
        b"Customer Support: Sure: go ahead.\n"
    )
    t = parse_transcript(text)
    assert [s.speaker for s in t.segments] == ["Customer Support", "Member", "Customer Support"]
    assert t.segments[1].text == "Hi there. I have two questions."
    assert t.segments[2].text == "Sure: go ahead."
    assert [s.id for s in t.segments] == [1, 2, 3]
    assert not t.timed and t.segments[0].start is None


def test_plain_text_timestamps_give_start_and_end() -> None:
    t = parse_transcript(
        b"[00:00] A: Hello there, how can I help\n[00:04] C: My bill is wrong\n[01:02:03] A: Let me look\n"
    )
    assert t.timed
    assert (t.segments[0].start, t.segments[0].end) == (0.0, 4.0)
    assert t.segments[2].start == 3723.0
    assert t.segments[2].end is not None and t.segments[2].end > 3723.0


def test_sentence_with_colon_is_not_a_speaker() -> None:
    t = parse_transcript(b"Agent: Hi.\nand then the man on the phone said: no refunds\nCaller: ok\n")
    assert t.speakers() == ["Agent", "Caller"]
    assert "no refunds" in t.segments[0].text


def test_native_json_keeps_times_and_language() -> None:
    t = load_transcript(FIXTURES / "native.json")
    assert t.source_format == "json" and t.language == "en"
    assert t.segments[1].speaker == "Customer Support" and t.segments[1].start == 4.3


def test_native_json_roles_become_the_mapping() -> None:
    doc = (
        b'{"segments": [{"speaker": "X", "role": "agent", "text": "Hello"},'
        b' {"speaker": "Y", "role": "customer", "text": "Hi"}]}'
    )
    t = parse_transcript(doc)
    assert t.role_mapping is not None and t.role_mapping.source == "input"
    assert t.role_mapping.speakers == {"X": "agent", "Y": "customer"}


def test_assemblyai_utterances_in_seconds() -> None:
    t = load_transcript(FIXTURES / "assemblyai.json")
    assert t.source_format == "assemblyai" and t.language == "en"
    assert t.speakers() == ["A", "B"]
    assert t.segments[1].start == pytest.approx(4.2) and t.segments[1].end == pytest.approx(9.8)
    assert t.segments[0].words and t.segments[0].words[0].start == pytest.approx(0.25)


def test_deepgram_utterances() -> None:
    t = load_transcript(FIXTURES / "deepgram_utterances.json")
    assert t.speakers() == ["Speaker 0", "Speaker 1"]
    assert t.segments[1].text.startswith("I was charged twice")


def test_deepgram_channels_without_utterances_merge_by_time() -> None:
    t = load_transcript(FIXTURES / "deepgram_multichannel.json")
    assert [s.speaker for s in t.segments] == ["Channel 0", "Channel 1"]
    assert t.segments[0].text == "Good morning, you've reached Initech. How may I help?"
    assert t.segments[1].channel == 1 and t.segments[1].start == pytest.approx(3.4)


def test_assemblyai_without_utterances_says_how_to_get_them() -> None:
    with pytest.raises(InvalidTranscriptError, match="speaker_labels"):
        parse_transcript(b'{"utterances": null, "text": "hello"}')


@pytest.mark.parametrize(
    ("data", "error", "code"),
    [
        (b"", EmptyInputError, "input.empty"),
        (b"   \n\t", EmptyInputError, "input.empty"),
        (b"\xff\xfe\x00\x00garbage\x00", UnknownFormatError, "input.unknown_format"),
        (b"Agent: caf\xe9 au lait\n", EncodingError, "input.encoding"),
        (b'{"segments": [', InvalidTranscriptError, "input.invalid_transcript"),
        (b'{"foo": 1}', UnknownFormatError, "input.unknown_format"),
        (b"just a sentence without any speaker", UnknownFormatError, "input.unknown_format"),
        (b'{"segments": [{"speaker": "A"}]}', InvalidTranscriptError, "input.invalid_transcript"),
    ],
)
def test_bad_input_gets_a_specific_error(data: bytes, error: type[Exception], code: str) -> None:
    with pytest.raises(error) as info:
        parse_transcript(data)
    assert info.value.code == code


def test_invalid_field_is_named() -> None:
    with pytest.raises(InvalidTranscriptError) as info:
        parse_transcript(b'{"segments": [{"speaker": "A", "text": "hi", "start": "soon"}]}')
    assert "segments.0.start" in info.value.message


def test_utf16_with_bom_is_read() -> None:
    t = parse_transcript("Agent: héllo\nCustomer: hi\n".encode("utf-16"))
    assert t.segments[0].text == "héllo"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputNotFoundError):
        load_transcript(tmp_path / "nope.txt")
