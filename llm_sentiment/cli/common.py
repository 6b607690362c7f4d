"""What the command groups share: the wiring they build from (tests hand in their own), the settings, and
known errors ended with their own exit codes."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import click

from llm_sentiment import wiring
from llm_sentiment.analysis.analyzer import ANALYSIS_PARTS, AnalysisPart, Analyzer
from llm_sentiment.errors import LLMSentimentError
from llm_sentiment.llm.base import LLMClient
from llm_sentiment.llm.cached import ResponseCache
from llm_sentiment.roles.ask import RoleQuestion
from llm_sentiment.settings import Settings


@dataclass(frozen=True)
class CliParts:
    """The factories the commands build from, on the click context: tests pass their own as
    ``CliRunner().invoke(main, args, obj=CliParts(build_llm=...))`` instead of patching modules."""

    build_llm: Callable[..., tuple[LLMClient, ResponseCache | None]] = wiring.build_llm
    build_role_question: Callable[..., RoleQuestion] = wiring.build_role_question
    build_analyzer: Callable[..., Analyzer] = wiring.build_analyzer


pass_parts = click.make_pass_decorator(CliParts, ensure=True)
"""Hands a command the context's ``CliParts``: the caller's ``obj``, or the real wiring when there is none."""


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
