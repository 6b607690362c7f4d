"""Who is who in a recording: by channel (checked against what each says), by voice (asking the LLM when
the words leave it unclear), or per segment when the voices blur together."""

from __future__ import annotations

from llm_sentiment.speech.recording import TranscriptionResult
from llm_sentiment.transcript.model import Transcript, Warning

from .ask import RoleQuestion, diarized_roles
from .rules import channel_mapping, parse_channels_spec, roles_by_segment


def recording_roles(
    result: TranscriptionResult, *, channels: str | None = None, question: RoleQuestion | None = None
) -> Transcript:
    """Roles by channel, by voice (with the LLM as a fallback when unclear), or per segment when voices blur."""
    transcript = result.transcript
    warnings = list(transcript.warnings)
    by_channel = parse_channels_spec(channels) if channels else None
    if result.speakers_from == "channels":
        mapping, found = channel_mapping(transcript, by_channel or ("agent", "customer"), given=by_channel is not None)
        return transcript.model_copy(update={"warnings": warnings + found}).with_roles(mapping)
    if channels:
        warnings.append(
            Warning(
                code="roles.channels_ignored",
                message="--channels ignored: the recording is mono; roles come from voices",
            )
        )
    transcript = transcript.model_copy(update={"warnings": warnings})
    if not transcript.segments:
        return transcript
    if result.voices is not None and result.voices.separated:
        return transcript.with_roles(diarized_roles(transcript, result.voices.confidence, question))
    return roles_by_segment(transcript)
