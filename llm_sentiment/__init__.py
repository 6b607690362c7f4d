"""llm-sentiment: how a call went, why, and the words that prove it.

    from llm_sentiment import Analyzer, Settings, build_analyzer, build_llm, load_call

    settings = Settings()
    llm, _cache = build_llm(settings)
    analysis = build_analyzer(settings, llm).analyze(load_call(Path("call.txt")))

The names below are the public API (a test pins them). The ones that pull in the LLM stack are
imported on first use, so a process that needs none of them (a model's own child process, say)
starts light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import errors
from .errors import LLMSentimentError
from .settings import AnalysisOptions, Settings, SpeechOptions

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .analysis import Analysis, Analyzer
    from .llm import LLMClient, LLMRequest, LLMResponse
    from .transcript import Transcript
    from .wiring import build_analyzer, build_llm, load_call, transcribe_call

_LAZY = {
    "Analysis": "llm_sentiment.analysis",
    "Analyzer": "llm_sentiment.analysis",
    "LLMClient": "llm_sentiment.llm",
    "LLMRequest": "llm_sentiment.llm",
    "LLMResponse": "llm_sentiment.llm",
    "Transcript": "llm_sentiment.transcript",
    "build_analyzer": "llm_sentiment.wiring",
    "build_llm": "llm_sentiment.wiring",
    "load_call": "llm_sentiment.wiring",
    "transcribe_call": "llm_sentiment.wiring",
}

__all__ = [
    "Analysis",
    "AnalysisOptions",
    "Analyzer",
    "LLMClient",
    "LLMRequest",
    "LLMResponse",
    "LLMSentimentError",
    "Settings",
    "SpeechOptions",
    "Transcript",
    "__version__",
    "build_analyzer",
    "build_llm",
    "errors",
    "load_call",
    "transcribe_call",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'llm_sentiment' has no attribute {name!r}")
