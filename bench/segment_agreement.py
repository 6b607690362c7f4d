"""Per-segment sentiment against human labels, beside the VADER lexicon baseline on the same lines.

    .venv/bin/python bench/segment_agreement.py [--model local/qwen2.5-coder-1.5b] [FILES...]

FILES are our JSON transcripts whose segments carry an ``expected`` label (default: the labeled
calls in tests/fixtures/labeled/). Turns are scored whole (no sentence split) so each score lines
up with its label. Prints agreement per call and overall, the confusion matrix, and VADER's
agreement on the same segments (compound >= 0.05 positive, <= -0.05 negative, its documented cut).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from llm_sentiment.analysis.analyzer import Analyzer
from llm_sentiment.analysis.questions import Scope
from llm_sentiment.ask.prompts import PromptSet
from llm_sentiment.settings import Settings
from llm_sentiment.transcript.units import sentiment_units
from llm_sentiment.wiring import build_llm, load_call

LABELS = ("positive", "neutral", "negative")


def _vader(analyzer: SentimentIntensityAnalyzer, text: str) -> str:
    compound = analyzer.polarity_scores(text)["compound"]
    return "positive" if compound >= 0.05 else "negative" if compound <= -0.05 else "neutral"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", type=Path, nargs="*")
    parser.add_argument("--model", help="model group (default: LLM_SENTIMENT_MODEL)")
    parser.add_argument("--details", action="store_true", help="print every disagreement")
    args = parser.parse_args()
    files = args.files or sorted((REPO / "tests" / "fixtures" / "labeled").glob("*.json"))

    settings = Settings(cache=False, split_words=10_000)
    llm, _ = build_llm(settings, use_cache=False)
    analyzer = Analyzer(
        llm, PromptSet(settings.prompts_dir, settings.prompts_version), settings.analysis_options(args.model)
    )
    scorer = analyzer._scorer()
    vader = SentimentIntensityAnalyzer()
    confusion: Counter[tuple[str, str]] = Counter()
    ours_total = vader_total = count = 0
    for path in files:
        expected = [s["expected"] for s in json.loads(path.read_text())["segments"]]
        call = load_call(path)
        units = sentiment_units(call, 10_000)  # one line per turn: the hand labels are per turn
        started = time.perf_counter()
        scored = scorer.score(Scope(analyzer.prompts.system_message(units), call.segments, units), units, [], [])
        seconds = time.perf_counter() - started
        ours = sum(s.label == e for s, e in zip(scored, expected, strict=True))
        baseline = sum(_vader(vader, s.text) == e for s, e in zip(call.segments, expected, strict=True))
        confusion.update((e, s.label) for s, e in zip(scored, expected, strict=True))
        ours_total, vader_total, count = ours_total + ours, vader_total + baseline, count + len(expected)
        print(
            f"{path.name:<28} ours {ours:>3}/{len(expected):<3} vader {baseline:>3}/{len(expected):<3} {seconds:6.1f} s"
        )
    print(f"\noverall: ours {ours_total}/{count} = {ours_total / count:.1%}", end=", ")
    print(f"vader {vader_total}/{count} = {vader_total / count:.1%}")
    print(f"model: {analyzer.model}, batch size {settings.segment_batch_size}\n")
    print("expected \\ ours " + "".join(f"{label:>10}" for label in LABELS))
    for label in LABELS:
        print(f"{label:<16}" + "".join(f"{confusion[(label, other)]:>10}" for other in LABELS))


if __name__ == "__main__":
    main()
