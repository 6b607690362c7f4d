"""Role assignment and metrics on generated mono calls, against their exact timelines.

Renders every scripted call in tests/fixtures/scripted_calls.json as a mono recording (espeak-ng,
a different voice pair per call), runs the recording path (Whisper tiny.en, Resemblyzer voices,
speaker-to-role assignment), and prints per call whether each voice got its true role, the share
of words attributed to the right role, and the behavioral metrics next to the truth.

    .venv/bin/python bench/role_accuracy.py            # word cues only (what `transcribe` does)
    .venv/bin/python bench/role_accuracy.py --llm      # with the LLM fallback (what `analyze` does)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from llm_sentiment.analysis.behavior import behavioral
from llm_sentiment.evals.synth.render_audio import AGENT_VOICE, CUSTOMER_VOICE, Turn, render_call
from llm_sentiment.settings import Settings
from llm_sentiment.speech.recording import AudioOptions
from llm_sentiment.transcript.model import Transcript
from llm_sentiment.wiring import build_llm, build_role_question, transcribe_call

VOICE_PAIRS = [
    (AGENT_VOICE, CUSTOMER_VOICE),
    (CUSTOMER_VOICE, AGENT_VOICE),
    ("en-us+f3", "en-gb+m3"),
    ("en-gb+m3", "en-us+f5"),
]


def _word_accuracy(transcript: Transcript, truth: list[tuple[float, float, str]]) -> tuple[int, int]:
    correct = total = 0
    for segment in transcript.segments:
        for word in segment.words or []:
            middle = (word.start + word.end) / 2
            roles = {role for start, end, role in truth if start - 0.15 <= middle <= end + 0.15}
            if len(roles) == 1:
                total += 1
                correct += segment.role in roles
    return correct, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llm", action="store_true", help="let the embedded LLM name the agent when cues are unclear")
    args = parser.parse_args()
    calls = json.loads((REPO / "tests" / "fixtures" / "scripted_calls.json").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="role-accuracy-") as tmp:
        settings = Settings(cache_path=Path(tmp) / "llm", transcript_cache_path=Path(tmp) / "transcripts")
        question = None
        if args.llm:
            llm, _ = build_llm(settings, use_cache=False)
            question = build_role_question(settings, llm)
        right_calls = words_right = words_total = 0
        print(
            f"{'call':<16} {'voices':<22} {'sep':>5} {'sim':>5} {'source':<11} {'conf':>5} roles  words  "
            f"agent% (true)  cust% (true)  silence% (true)  resp s (true)"
        )
        for index, (name, script) in enumerate(calls.items()):
            agent_voice, customer_voice = VOICE_PAIRS[index % len(VOICE_PAIRS)]
            turns = [Turn.model_validate(t) for t in script]
            call = render_call(
                turns, Path(tmp) / f"{name}.wav", layout="mono", agent_voice=agent_voice, customer_voice=customer_voice
            )
            started = time.perf_counter()
            result = transcribe_call(call.path, audio=AudioOptions(), settings=settings, question=question)
            elapsed = time.perf_counter() - started
            t = result.transcript
            truth_spans = [(s.start or 0.0, s.end or 0.0, str(s.role)) for s in call.segments]
            correct, total = _word_accuracy(t, truth_spans)
            # a voice's true role: the role of the turns its words fall in, by majority
            voice_truth: dict[str, dict[str, int]] = {}
            for segment in t.segments:
                for word in segment.words or []:
                    middle = (word.start + word.end) / 2
                    for start, end, role in truth_spans:
                        if start - 0.15 <= middle <= end + 0.15:
                            votes = voice_truth.setdefault(segment.speaker, {})
                            votes[role] = votes.get(role, 0) + 1
            mapping = t.role_mapping
            right = bool(
                mapping
                and mapping.speakers
                and all(max(v, key=lambda r: v[r]) == mapping.speakers.get(sp) for sp, v in voice_truth.items())
                and set(mapping.speakers.values()) == {"agent", "customer"}
            )
            right_calls += right
            words_right += correct
            words_total += total
            got = behavioral(t)
            true = behavioral(Transcript(segments=call.segments, duration=call.duration))
            voices = result.voices
            assert got is not None and true is not None and voices is not None
            print(
                f"{name:<16} {agent_voice + '/' + customer_voice:<22} {voices.separated!s:>5} "
                f"{voices.similarity if voices.similarity is not None else float('nan'):5.2f} "
                f"{mapping.source if mapping else '-':<11} {mapping.confidence if mapping else 0:5.2f} "
                f"{'ok   ' if right else 'WRONG'}  {correct / max(total, 1):5.1%}  "
                f"{got.agent_talk_ratio:6.1%} ({true.agent_talk_ratio:5.1%})  "
                f"{got.customer_talk_ratio:6.1%} ({true.customer_talk_ratio:5.1%})  "
                f"{got.silence_ratio:6.1%} ({true.silence_ratio:5.1%})  "
                f"{got.average_response_time_seconds or 0:5.2f} ({true.average_response_time_seconds or 0:4.2f})"
                f"   [{call.duration:.0f} s audio in {elapsed:.1f} s]"
            )
        print(
            f"\nroles right on {right_calls}/{len(calls)} calls; "
            f"words attributed to the right role: {words_right}/{words_total} ({words_right / max(words_total, 1):.1%})"
        )


if __name__ == "__main__":
    main()
