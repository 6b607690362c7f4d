"""The sentiment timeline plot is a real PNG of a sensible size."""

from __future__ import annotations

import json
import struct
from pathlib import Path

from llm_sentiment.analysis.analyzer import Analyzer
from llm_sentiment.analysis.result import Analysis
from llm_sentiment.analysis.timeline import timeline
from llm_sentiment.ask.calibration import Thresholds
from llm_sentiment.ask.prompts import PromptSet
from llm_sentiment.llm.testing import SchemaLLM
from llm_sentiment.settings import Settings
from llm_sentiment.views.plot import timeline_png
from llm_sentiment.wiring import load_call
from tests.conftest import FIXTURES

LABELED = FIXTURES / "labeled" / "internet_outage.json"
SCORES = {"negative": -0.7, "neutral": 0.0, "positive": 0.7}
T = Thresholds()


def _improving_call(tmp: Path) -> Analysis:
    """The labeled call, scored with its human labels, so the customer's turning point is known."""
    settings = Settings(cache_path=tmp / "cache")
    analysis = Analyzer(SchemaLLM(), PromptSet(settings.prompts_dir, "v1"), settings.analysis_options()).analyze(
        load_call(LABELED)
    )
    expected = [s["expected"] for s in json.loads(LABELED.read_text())["segments"]]
    segments = [
        s.model_copy(update={"label": expected[s.segment_id - 1], "score": SCORES[expected[s.segment_id - 1]]})
        for s in analysis.segments
    ]
    line = timeline(segments, T, 0.3, analysis.transcript.duration)
    assert line is not None and line.customer.trend is not None and line.customer.trend.turning_point is not None
    return analysis.model_copy(update={"segments": segments, "timeline": line})


def test_timeline_plot_is_a_png_of_sensible_size(tmp_path: Path) -> None:
    png = timeline_png(_improving_call(tmp_path), T)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (1000, 450)
    assert 10_000 < len(png) < 1_000_000
    assert png.rstrip().endswith(b"IEND\xaeB`\x82")
