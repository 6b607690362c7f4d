"""The public API is what ``llm_sentiment.__all__`` says, and every name in it resolves."""

from __future__ import annotations

import importlib

import llm_sentiment

PUBLIC = [
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


def test_the_public_names_are_pinned() -> None:
    assert llm_sentiment.__all__ == PUBLIC, "a change to the public API is deliberate: update this list with it"


def test_every_public_name_resolves_and_every_package_lists_real_names() -> None:
    for name in PUBLIC:
        assert getattr(llm_sentiment, name) is not None
    for package in ("transcript", "speech", "llm", "ask", "roles", "analysis"):
        module = importlib.import_module(f"llm_sentiment.{package}")
        assert module.__all__ and all(hasattr(module, name) for name in module.__all__), package
