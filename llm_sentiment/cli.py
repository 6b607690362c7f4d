"""The ``llm-sentiment`` command line: analyze calls, iterate on prompts, manage models and the cache."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from . import __version__
from .analyze import QUESTION_IDS, question_messages, steps_for
from .answers import UserQuestion, load_questions
from .assets import ASSETS, ensure, get_asset, verify
from .cache import ResponseCache
from .errors import LLMSentimentError
from .fileio import write_atomic
from .formats import INPUT_FORMATS, InputFormat
from .pipeline import build_analyzer, build_llm, load_call
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
    questions: Path | None,
    model: str | None,
    prompts_version: str | None,
    no_cache: bool,
    output: Path | None,
) -> None:
    """Analyze a call transcript."""
    settings = _settings()
    with _errors():
        transcript = load_call(path, input_format=cast(InputFormat, input_format), roles=roles)
        asked: list[UserQuestion] = load_questions(questions) if questions else []
        llm, cache = build_llm(settings, use_cache=not no_cache)
        analyzer = build_analyzer(settings, llm, model=model, prompts_version=prompts_version)
        try:
            with _progress(steps_for(asked), path.name) as advance:
                result = analyzer.analyze(transcript, asked, progress=advance)
        finally:
            if cache is not None:
                cache.close()
        text = render_text(result) if fmt == "text" else result.model_dump_json(indent=2, exclude_none=False) + "\n"
        _emit(text, output)


def _csv(value: str | None) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()] if value else []


class _EvalProgress:
    """A bar over all questions on a terminal; one line per finished call otherwise (CI logs)."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.bar: Any = None
        self.done = 0

    def start(self, total: int) -> None:
        if self.tty and total:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc="eval", unit="question", file=sys.stderr, leave=False)

    def step(self, label: str) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(label[-60:])
            self.bar.update(1)

    def case(self, result: Any) -> None:
        self.done += 1
        if self.bar is None:
            targets = " ".join(
                f"{key}={t.predicted or '-'}{'' if t.predicted == t.gold else f'(gold {t.gold})'}"
                for key, t in result.targets.items()
            )
            error = f" error={result.error.code}" if result.error else ""
            click.echo(
                f"[{self.done}] {result.config} {result.call_id} {result.wall_s:.1f}s {targets}{error}", err=True
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@main.command("eval")
@click.option(
    "--dataset", default="callcenter", show_default=True, help="Dataset name under evals/datasets/, or a directory."
)
@click.option(
    "--split", type=click.Choice(["dev", "test"]), help="Only this split (default: both, reported separately)."
)
@click.option("--subset", help="Only this named subset of the dataset, e.g. ci.")
@click.option(
    "--prompts", "prompts_versions", metavar="V1,V2", help="Prompt versions to compare (default: configured)."
)
@click.option("--models", metavar="A,B", help="Model groups to compare (default: configured).")
@click.option(
    "--limit", type=click.IntRange(min=0), help="Only the first N selected calls (0: validate the dataset only)."
)
@click.option("--output", type=click.Path(path_type=Path), default=Path("eval-out"), show_default=True)
@click.option("--baseline", type=click.Path(path_type=Path), help="An earlier results.json to report changes against.")
@click.option("--check", is_flag=True, help="Exit 62 when a metric is below evals/thresholds.yaml.")
@click.option("--thresholds", type=click.Path(path_type=Path), help="Thresholds file (default: evals/thresholds.yaml).")
@click.option("--labels-only", is_flag=True, help="Ask only the label questions: fast, for prompt iteration.")
@click.option("--calibrate", is_flag=True, help="Fit score bands on the dev split and write calibration.yaml files.")
@click.option("--no-lexicon", is_flag=True, help="Leave out the VADER lexicon reference row.")
@click.option("--no-cache", is_flag=True, help="Ask the models even when answers are cached.")
def eval_command(
    dataset: str,
    split: str | None,
    subset: str | None,
    prompts_versions: str | None,
    models: str | None,
    limit: int | None,
    output: Path,
    baseline: Path | None,
    check: bool,
    thresholds: Path | None,
    labels_only: bool,
    calibrate: bool,
    no_lexicon: bool,
    no_cache: bool,
) -> None:
    """Score prompt versions x models against a labeled dataset; write results.json and reports.

    Every combination runs through the real pipeline with the answer cache, so an interrupted
    run resumes where it stopped. Reports go to OUTPUT: results.json, cases.jsonl, report.md,
    report.html (and calibration/<version>/calibration.yaml with --calibrate).
    """
    from .evals.dataset import load_dataset
    from .evals.evaluate import EvalRequest, evaluate

    settings = _settings()
    request = EvalRequest(
        dataset=dataset,
        split=cast(Any, split),
        subset=subset,
        limit=limit,
        prompts=_csv(prompts_versions),
        models=_csv(models),
        output=output,
        baseline=baseline,
        check=check,
        thresholds=thresholds,
        explain=not labels_only,
        calibrate=calibrate,
        use_cache=not no_cache,
        lexicon=not no_lexicon,
    )
    with _errors():
        if limit == 0:
            loaded = load_dataset(dataset, settings.evals_dir / "datasets")
            dev = len(loaded.select(split="dev"))
            click.echo(f"{loaded.name}: {len(loaded.calls)} calls valid ({dev} dev, {len(loaded.calls) - dev} test)")
            return
        progress = _EvalProgress()
        try:
            outcome = evaluate(request, settings, tick=progress)
        finally:
            progress.close()
        from .evals.report import matrix_table

        for slice_name in ("test", "dev", "all"):
            table = matrix_table(outcome.results, slice_name)
            if table:
                click.echo(f"{slice_name}:\n" + "\n".join(table) + "\n")
        for path in outcome.written:
            click.echo(f"wrote {path}", err=True)
        if outcome.failures is not None:
            click.echo("gate: PASS", err=True)


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
            prompt_set, transcript, question, label=label, max_quotes=settings.max_quotes, question=user_question
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
