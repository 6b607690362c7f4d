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


def test_importing_the_package_does_not_pull_in_the_llm_stack() -> None:
    """A model's child process imports the package first: it must stay light."""
    import subprocess
    import sys

    heavy = ("litellm", "openai", "llama_cpp", "fastapi")
    code = f"import sys, llm_sentiment; print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
