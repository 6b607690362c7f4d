"""Dataset calls spoken (espeak-ng + sox, ``render_audio``) so the eval exercises transcription too.

A call marked ``audio: stereo|mono`` is rendered in the run, never committed, to
``<output>/audio/<id>.<layout>.wav``: the agent and the customer in two voices, the agent on
channel 0 of a stereo file. The eval then loads the recording exactly as ``analyze call.wav``
does (transcription, roles from channels or voices) and scores it against the same labels.

    python -m llm_sentiment.evals.audio OUTPUT_DIR [--dataset callcenter]   # just render them
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from llm_sentiment.evals.dataset import EvalCall, load_dataset
from llm_sentiment.evals.synth.render_audio import Turn, render_call
from llm_sentiment.transcript.model import Transcript
from llm_sentiment.wiring import load_call

_GAP_S = 0.4


def turns(transcript: Transcript) -> list[Turn]:
    """The call's turns with their roles; a turn by a speaker with no role cannot be voiced."""
    spoken = []
    for segment in transcript.segments:
        if segment.role is None:
            raise ValueError(f"segment {segment.id} ({segment.speaker!r}) has no role to pick a voice for")
        spoken.append(Turn(role=segment.role, text=segment.text, gap_before=_GAP_S))
    return spoken


def render(calls: Sequence[EvalCall], transcripts: dict[str, Transcript], directory: Path) -> dict[str, Path]:
    """Each audio call's recording in its layout; a file already rendered by an earlier run is reused."""
    rendered = {}
    for call in calls:
        if call.audio is None or call.id not in transcripts:
            continue
        path = directory / f"{call.id}.{call.audio}.wav"
        if not path.is_file():
            partial = path.with_suffix(".partial.wav")
            render_call(turns(transcripts[call.id]), partial, layout=call.audio)
            partial.replace(path)
        rendered[call.id] = path
    return rendered


def main(argv: list[str] | None = None) -> None:
    from llm_sentiment.settings import Settings

    parser = argparse.ArgumentParser(description="Render a dataset's audio calls to WAV files (espeak-ng + sox).")
    parser.add_argument("output", type=Path)
    parser.add_argument("--dataset", default="callcenter")
    args = parser.parse_args(argv)
    dataset = load_dataset(args.dataset, Settings().evals_dir / "datasets")
    spoken = [c for c in dataset.calls if c.audio is not None]
    text_dir = args.output / "transcripts"
    text_dir.mkdir(parents=True, exist_ok=True)
    transcripts = {}
    for call in spoken:
        path = text_dir / f"{call.id}.txt"
        path.write_text(call.transcript, encoding="utf-8")
        transcripts[call.id] = load_call(path, roles=call.roles)
    for call_id, wav in render(spoken, transcripts, args.output).items():
        print(f"{call_id}: {wav}")


if __name__ == "__main__":
    main()
