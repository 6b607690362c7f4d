"""Importing the package stays light: a model's child process imports it before anything else."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_package_does_not_pull_in_the_llm_stack() -> None:
    """A fresh interpreter: the names that pull in LiteLLM, llama.cpp or FastAPI are imported on first use."""
    heavy = ("litellm", "openai", "llama_cpp", "fastapi")
    code = f"import sys, llm_sentiment; print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
