"""The ``llm-sentiment`` command line: analyze calls, iterate on prompts, manage models and the cache."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from . import __version__, views
from .analysis import Analysis
from .analyze import ANALYSIS_PARTS, QUESTION_IDS, AnalysisPart, question_messages
from .answers import UserQuestion, load_questions
from .assets import ASSETS, ensure, get_asset, verify
from .cache import ResponseCache
from .errors import LLMSentimentError
from .fileio import write_atomic
from .formats import INPUT_FORMATS, InputFormat
from .pipeline import build_analyzer, build_llm, load_call
from .scoring import Thresholds
from .settings import Settings
from .templates import PromptSet
from .text_report import render_text

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_MODELS = ("qwen2.5-coder-1.5b", "whisper-tiny.en")


def _fail(error: LLMSentimentError) -> None:
    click.echo(f"error [{error.code}]: {error.message}", err=True)
    if error.hint:
        click.echo(f"  {error.hint}", err=True)
    sys.exit(error.exit_code)


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except LLMSentimentError as error:
        _fail(error)


def _settings() -> Settings:
    try:
        return Settings()
    except ValueError as exc:
        click.echo(f"error [config.invalid]: bad LLM_SENTIMENT_* environment setting: {exc}", err=True)
        sys.exit(22)


@contextmanager
def _progress(total: int, label: str) -> Iterator[Callable[[str], None]]:
    """A bar on stderr when it is a terminal; silent otherwise."""
    if not sys.stderr.isatty():
        yield lambda _step: None
        return
    from tqdm import tqdm

    with tqdm(total=total, desc=label, unit="question", file=sys.stderr, leave=False) as bar:

        def advance(step: str) -> None:
            bar.set_postfix_str(step)
            bar.update(1)

        yield advance


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text, nl=False)
    else:
        write_atomic(output, text)
        click.echo(f"wrote {output}", err=True)


def _input_options(func: F) -> F:
    func = click.option(
        "--input-format",
        type=click.Choice(INPUT_FORMATS),
        default="auto",
        show_default=True,
        help="Transcript format; auto detects plain text, our JSON, AssemblyAI and Deepgram.",
    )(func)
    return click.option(
        "--roles", metavar="SPEC", help='Speaker roles, e.g. "Rep=agent,Caller=customer". Default: inferred.'
    )(func)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="llm-sentiment")
def main() -> None:
    """How a call went: customer, agent and call sentiment, with reasons and verbatim quotes.

    Runs offline on an embedded llama.cpp model; configure other models in configs/models.yaml.
    """


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
@_input_options
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="json", show_default=True)
@click.option(
    "--view",
    type=click.Choice(views.VIEWS),
    default="native",
    show_default=True,
    help="JSON shape: our own, AssemblyAI's or Deepgram's sentiment response, or the insights API's.",
)
@click.option(
    "--type",
    "insight_type",
    type=click.Choice(views.INSIGHT_TYPES),
    help="Insights view: which insights to return (default all).",
)
@click.option("--speaker", type=click.Choice(views.SPEAKERS), help="Insights view: one speaker's sentiment only.")
@click.option(
    "--granularity",
    type=click.Choice(views.GRANULARITIES),
    help="Insights view: sentiment per segment (default), per minute, or for the whole call.",
)
@click.option(
    "--plot",
    type=click.Path(path_type=Path),
    help="Also draw the per-role sentiment timeline to this PNG file.",
)
@click.option("--no-segments", is_flag=True, help="Skip per-segment sentiment (and the timeline built from it).")
@click.option("--no-summary", is_flag=True, help="Skip the summary, resolution and recommendations.")
@click.option(
    "--questions",
    type=click.Path(path_type=Path),
    help="YAML file of extra questions (question, context, answer_format).",
)
@click.option("--model", help="Model group from the router config (default: LLM_SENTIMENT_MODEL).")
@click.option("--prompts", "prompts_version", metavar="VERSION", help="Prompt version under prompts/.")
@click.option("--no-cache", is_flag=True, help="Ask the model even when an answer is cached.")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write here (atomically) instead of stdout.")
def analyze(
    path: Path,
    input_format: str,
    roles: str | None,
    fmt: str,
    view: str,
    insight_type: str | None,
    speaker: str | None,
    granularity: str | None,
    plot: Path | None,
    no_segments: bool,
    no_summary: bool,
    questions: Path | None,
    model: str | None,
    prompts_version: str | None,
    no_cache: bool,
    output: Path | None,
) -> None:
    """Analyze a call transcript."""
    if fmt == "text" and view != "native":
        raise click.UsageError("--format text shows the native analysis; use --format json with --view")
    if view != "insights" and (insight_type or speaker or granularity):
        raise click.UsageError("--type, --speaker and --granularity apply to --view insights")
    if no_segments and (
        plot
        or view in ("assemblyai", "deepgram")
        or (view == "insights" and insight_type in (None, "all", "sentiment"))
    ):
        raise click.UsageError(f"--no-segments leaves nothing for {'--plot' if plot else '--view ' + view} to show")
    parts: tuple[AnalysisPart, ...] = tuple(
        p for p in ANALYSIS_PARTS if not (p == "segments" and no_segments) and not (p == "summary" and no_summary)
    )
    settings = _settings()
    with _errors():
        transcript = load_call(path, input_format=cast(InputFormat, input_format), roles=roles)
        asked: list[UserQuestion] = load_questions(questions) if questions else []
        llm, cache = build_llm(settings, use_cache=not no_cache)
        analyzer = build_analyzer(settings, llm, model=model, prompts_version=prompts_version)
        try:
            with _progress(analyzer.steps(transcript, asked, parts), path.name) as advance:
                result = analyzer.analyze(transcript, asked, progress=advance, parts=parts)
        finally:
            if cache is not None:
                cache.close()
        thresholds = Thresholds(settings.positive_threshold, settings.negative_threshold)
        if fmt == "text":
            text = render_text(result)
        else:
            text = json.dumps(
                _view(result, view, str(path), thresholds, insight_type, speaker, granularity),
                indent=2,
                ensure_ascii=False,
            )
            text += "\n"
        if plot is not None:
            from .plots import timeline_png

            write_atomic(plot, timeline_png(result, thresholds))
            click.echo(f"wrote {plot}", err=True)
        _emit(text, output)


def _view(
    analysis: Analysis,
    view: str,
    source: str,
    thresholds: Thresholds,
    insight_type: str | None,
    speaker: str | None,
    granularity: str | None,
) -> Any:
    if view == "assemblyai":
        return views.assemblyai(analysis, source=source)
    if view == "deepgram":
        return views.deepgram(analysis)
    if view == "insights":
        return views.insights(
            analysis,
            thresholds=thresholds,
            insight_type=cast(views.InsightType, insight_type or "all"),
            speaker=cast(views.Speaker | None, speaker),
            granularity=cast(views.Granularity, granularity or "segment"),
        )
    return analysis.model_dump(mode="json")


@main.group()
def prompts() -> None:
    """Inspect the question templates."""


@prompts.command("list")
@click.option("--prompts", "prompts_version", metavar="VERSION")
def prompts_list(prompts_version: str | None) -> None:
    """List the templates of a prompt version."""
    settings = _settings()
    with _errors():
        prompt_set = PromptSet(settings.prompts_dir, prompts_version or settings.prompts_version)
        for template in prompt_set.templates.values():
            meta = template.meta
            click.echo(f"{meta.id:<20} v{meta.version:<4} {meta.output or '-':<16} {meta.description}")


@prompts.command("render")
@click.argument("question", type=click.Choice(QUESTION_IDS))
@click.argument("path", type=click.Path(path_type=Path))
@_input_options
@click.option("--prompts", "prompts_version", metavar="VERSION")
@click.option(
    "--label",
    type=click.Choice(["positive", "neutral", "negative"]),
    default="neutral",
    show_default=True,
    help="The label an evidence question explains.",
)
@click.option("--question-text", help="The question a `custom` render asks.")
@click.option("--json", "as_json", is_flag=True, help="Print the messages as JSON.")
def prompts_render(
    question: str,
    path: Path,
    input_format: str,
    roles: str | None,
    prompts_version: str | None,
    label: str,
    question_text: str | None,
    as_json: bool,
) -> None:
    """Print the exact messages QUESTION would send for the call at PATH."""
    settings = _settings()
    with _errors():
        transcript = load_call(path, input_format=cast(InputFormat, input_format), roles=roles)
        prompt_set = PromptSet(settings.prompts_dir, prompts_version or settings.prompts_version)
        user_question = UserQuestion(question=question_text) if question_text else None
        messages = question_messages(
            prompt_set,
            transcript,
            question,
            label=label,
            max_quotes=settings.max_quotes,
            question=user_question,
            split_words=settings.split_words,
            batch_size=settings.segment_batch_size,
        )
        if as_json:
            click.echo(json.dumps([m.model_dump() for m in messages], indent=2, ensure_ascii=False))
            return
        for message in messages:
            click.echo(f"----- {message.role} -----\n{message.content}\n")


@main.group()
def models() -> None:
    """Embedded models: assembled from registry packages into LLM_SENTIMENT_HOME, sha256-verified."""


@models.command("list")
def models_list() -> None:
    """Show the embedded models and whether they are assembled."""
    settings = _settings()
    for asset in ASSETS.values():
        target = settings.models_dir / (asset.name if asset.kind == "ctranslate2" else "") / asset.filename
        state = "assembled" if target.is_file() else "not assembled"
        click.echo(f"{asset.name:<22} {state:<14} {asset.description}")


@models.command("install")
@click.argument("names", nargs=-1)
def models_install(names: tuple[str, ...]) -> None:
    """Assemble and verify models (default: the default LLM and Whisper)."""
    settings = _settings()
    with _errors():
        for name in names or DEFAULT_MODELS:
            click.echo(f"{name}: {ensure(get_asset(name), settings.models_dir)}")


@models.command("verify")
@click.argument("names", nargs=-1)
def models_verify(names: tuple[str, ...]) -> None:
    """Re-hash assembled models against their pinned sha256."""
    settings = _settings()
    failed = False
    with _errors():
        for name in names or tuple(ASSETS):
            ok = verify(get_asset(name), settings.models_dir)
            failed |= not ok and bool(names)
            click.echo(
                f"{name}: {'ok' if ok else 'missing or corrupt: run `llm-sentiment models install ' + name + '`'}"
            )
    if failed:
        sys.exit(21)


@main.group()
def cache() -> None:
    """The LLM answer cache."""


@cache.command("info")
def cache_info() -> None:
    """Where the cache is and how many answers it holds."""
    settings = _settings()
    store = ResponseCache(settings.cache_dir)
    click.echo(f"{settings.cache_dir}: {len(store)} answers")
    store.close()


@cache.command("clear")
def cache_clear() -> None:
    """Delete every cached answer."""
    settings = _settings()
    store = ResponseCache(settings.cache_dir)
    click.echo(f"removed {store.clear()} answers")
    store.close()
