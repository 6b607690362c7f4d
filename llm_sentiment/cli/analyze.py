"""Analyze and transcribe calls, and render prompts: the commands for iterating on a prompt version."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from llm_sentiment._util.fileio import write_atomic
from llm_sentiment.analysis.questions import QUESTION_IDS, question_messages
from llm_sentiment.analysis.result import Analysis
from llm_sentiment.ask.answers import UserQuestion, load_questions
from llm_sentiment.ask.calibration import Thresholds
from llm_sentiment.ask.prompts import PromptSet
from llm_sentiment.cli.common import CliParts, analysis_parts, exit_on_error, load_settings, pass_parts
from llm_sentiment.errors import LLMSentimentError
from llm_sentiment.roles.rules import assign_roles, parse_roles_spec
from llm_sentiment.speech.recording import AudioOptions
from llm_sentiment.transcript.formats import INPUT_FORMATS, InputFormat
from llm_sentiment.views import vendors as views
from llm_sentiment.views.subtitles import RENDERERS
from llm_sentiment.views.text import render_text
from llm_sentiment.wiring import load_call, transcribe_call

F = TypeVar("F", bound=Callable[..., Any])


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


@contextmanager
def _audio_progress(label: str) -> Iterator[Callable[[str, float], None] | None]:
    """A percentage bar for transcription on stderr when it is a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    with tqdm(total=100, desc=label, unit="%", file=sys.stderr, leave=False) as bar:

        def advance(stage: str, fraction: float) -> None:
            bar.set_postfix_str(stage)
            bar.update(max(0, round(fraction * 100) - bar.n))

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
        help="Input format; auto detects recordings (by content), plain text, our JSON, AssemblyAI and Deepgram.",
    )(func)
    return click.option(
        "--roles", metavar="SPEC", help='Speaker roles, e.g. "Rep=agent,Caller=customer". Default: inferred.'
    )(func)


def _audio_options(func: F) -> F:
    func = click.option(
        "--channels",
        metavar="ROLE,ROLE",
        help="Stereo recordings: the roles of channel 0 and 1 [default: agent,customer].",
    )(func)
    return click.option("--language", metavar="CODE", help="Spoken language (e.g. en). Default: detected.")(func)


@click.command()
@click.argument("path", type=click.Path(path_type=Path))
@_input_options
@_audio_options
@click.option("--whisper-model", metavar="NAME|DIR", help="Whisper for recordings (default: whisper-tiny.en).")
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
@click.option(
    "--prompts", "prompts_version", metavar="VERSION", help="Prompt version (default: LLM_SENTIMENT_PROMPTS_VERSION)."
)
@click.option("--no-cache", is_flag=True, help="Ask the model (and transcribe) even when cached.")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Write here (atomically) instead of stdout; for a folder of calls, the folder for their results.",
)
@pass_parts
def analyze(
    wiring: CliParts,
    path: Path,
    input_format: str,
    roles: str | None,
    channels: str | None,
    language: str | None,
    whisper_model: str | None,
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
    """Analyze a call: a transcript, or a recording (wav, flac, mp3, ogg/opus, m4a, webm).

    PATH may be a folder of calls: each is written to -o DIR, and the run ends with calls per hour."""
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
    parts = analysis_parts(no_segments, no_summary)
    settings = load_settings()
    if path.is_dir() and (output is None or plot is not None):
        raise click.UsageError("a folder of calls needs -o DIR for the results (and takes no --plot)")
    with exit_on_error():
        asked: list[UserQuestion] = load_questions(questions) if questions else []
        llm, cache = wiring.build_llm(settings, use_cache=not no_cache)
        try:
            audio = AudioOptions(model=whisper_model, language=language, channels=channels, use_cache=not no_cache)
            question = wiring.build_role_question(settings, llm, model=model, prompts_version=prompts_version)
            analyzer = wiring.build_analyzer(settings, llm, model=model, prompts_version=prompts_version)

            def one(call: Path) -> Analysis:
                with _audio_progress(call.name) as heard:
                    transcript = load_call(
                        call,
                        input_format=cast(InputFormat, input_format),
                        roles=roles,
                        audio=audio,
                        settings=settings,
                        question=question,
                        progress=heard,
                    )
                with _progress(analyzer.steps(transcript, asked, parts), call.name) as advance:
                    return analyzer.analyze(transcript, asked, progress=advance, parts=parts)

            def render(result: Analysis, source: Path) -> str:
                if fmt == "text":
                    return render_text(result)
                shaped = _view(result, view, str(source), insight_type, speaker, granularity)
                return json.dumps(shaped, indent=2, ensure_ascii=False) + "\n"

            if path.is_dir():
                assert output is not None
                _backlog(path, output, one, render, ".txt" if fmt == "text" else ".json")
                return
            result = one(path)
        finally:
            if cache is not None:
                cache.close()
        if plot is not None:
            from llm_sentiment.views.plot import timeline_png

            thresholds = Thresholds(settings.positive_threshold, settings.negative_threshold)
            write_atomic(plot, timeline_png(result, thresholds))
            click.echo(f"wrote {plot}", err=True)
        _emit(render(result, path), output)


def _backlog(
    folder: Path, out: Path, one: Callable[[Path], Analysis], render: Callable[[Analysis, Path], str], suffix: str
) -> None:
    """Every call in ``folder`` (sorted), each to ``out/<name><suffix>``; a call that fails is reported and
    skipped, never the end of the run. Ends with the throughput: calls an hour, and the calls' length over
    the wall time (for timed calls)."""
    calls = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    done, failed, seconds = 0, 0, 0.0
    for index, call in enumerate(calls, start=1):
        try:
            result = one(call)
        except LLMSentimentError as exc:
            failed += 1
            click.echo(f"[{index}/{len(calls)}] {call.name}: error [{exc.code}] {exc.message}", err=True)
            continue
        write_atomic(out / f"{call.stem}{suffix}", render(result, call))
        done += 1
        seconds += result.timeline.duration if result.timeline else result.transcript.duration or 0.0
        click.echo(f"[{index}/{len(calls)}] {call.name}: done", err=True)
    wall = time.perf_counter() - started
    rate = f"{done / wall * 3600:.1f} calls/hour" if wall > 0 else "-"
    length = f"; {seconds / 60:.1f} min of calls at {wall / seconds:.2f} x their length" if seconds > 0 else ""
    click.echo(f"analyzed {done} of {len(calls)} calls ({failed} failed) in {wall:.0f} s: {rate}{length}", err=True)


def _view(
    analysis: Analysis,
    view: str,
    source: str,
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
            insight_type=cast(views.InsightType, insight_type or "all"),
            speaker=cast(views.Speaker | None, speaker),
            granularity=cast(views.Granularity, granularity or "segment"),
        )
    return analysis.model_dump(mode="json")


@click.command()
@click.argument("path", type=click.Path(path_type=Path))
@_audio_options
@click.option("--model", metavar="NAME|DIR", help="Whisper: whisper-tiny.en (default), whisper-base, or a directory.")
@click.option(
    "--roles", metavar="SPEC", help='Roles by speaker label, e.g. "Speaker 2=agent" (overrides channels and voices).'
)
@click.option("--format", "fmt", type=click.Choice(["json", "text", "srt", "vtt"]), default="json", show_default=True)
@click.option("--no-cache", is_flag=True, help="Transcribe even when this audio was transcribed before.")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write here (atomically) instead of stdout.")
def transcribe(
    path: Path,
    channels: str | None,
    language: str | None,
    model: str | None,
    roles: str | None,
    fmt: str,
    no_cache: bool,
    output: Path | None,
) -> None:
    """Transcribe a recording offline, with agent/customer roles from channels or voices (no LLM needed)."""
    settings = load_settings()
    with exit_on_error():
        audio = AudioOptions(model=model, language=language, channels=channels, use_cache=not no_cache)
        with _audio_progress(path.name) as heard:
            result = transcribe_call(path, audio=audio, settings=settings, progress=heard)
        if roles:
            result = result.model_copy(update={"transcript": assign_roles(result.transcript, parse_roles_spec(roles))})
        text = result.model_dump_json(indent=2) + "\n" if fmt == "json" else RENDERERS[fmt](result)
        _emit(text, output)


@click.group()
def prompts() -> None:
    """Inspect the question templates."""


@prompts.command("list")
@click.option("--prompts", "prompts_version", metavar="VERSION")
def prompts_list(prompts_version: str | None) -> None:
    """List the templates of a prompt version."""
    settings = load_settings()
    with exit_on_error():
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
    settings = load_settings()
    with exit_on_error():
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
