"""What every command group shares: the settings, and known errors ended with their own exit codes."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click

from llm_sentiment.analysis.analyzer import ANALYSIS_PARTS, AnalysisPart
from llm_sentiment.errors import LLMSentimentError
from llm_sentiment.settings import Settings


def _fail(error: LLMSentimentError) -> None:
    click.echo(f"error [{error.code}]: {error.message}", err=True)
    if error.hint:
        click.echo(f"  {error.hint}", err=True)
    sys.exit(error.exit_code)


@contextmanager
def exit_on_error() -> Iterator[None]:
    """A known error ends the command with its message and its own exit code, not a traceback."""
    try:
        yield
    except LLMSentimentError as error:
        _fail(error)


def load_settings() -> Settings:
    """A bad LLM_SENTIMENT_* variable is a configuration error (exit 22), not a traceback."""
    try:
        return Settings()
    except ValueError as exc:
        click.echo(f"error [config.invalid]: bad LLM_SENTIMENT_* environment setting: {exc}", err=True)
        sys.exit(22)


def analysis_parts(no_segments: bool, no_summary: bool) -> tuple[AnalysisPart, ...]:
    """The parts of the analysis that the --no-segments and --no-summary flags leave in."""
    skipped = {"segments": no_segments, "summary": no_summary}
    return tuple(p for p in ANALYSIS_PARTS if not skipped[p])
