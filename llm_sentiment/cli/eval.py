"""The ``eval`` command: prompt versions x models scored against a labeled dataset."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, cast

import click

from llm_sentiment.analysis.analyzer import AnalysisPart
from llm_sentiment.cli.common import CliParts, analysis_parts, exit_on_error, load_settings, pass_parts


def _csv(value: str | None) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()] if value else []


def eval_parts(labels_only: bool, segments: bool | None, summary: bool | None) -> tuple[AnalysisPart, ...]:
    """The whole analysis unless a flag drops a part; ``--labels-only`` asks none but those ``--segments`` and
    ``--summary`` add back (a dataset that labels only segments, or only the resolution, needs nothing else)."""
    if labels_only:
        wanted: dict[AnalysisPart, bool | None] = {"segments": segments, "summary": summary}
        return tuple(part for part, on in wanted.items() if on)
    return analysis_parts(no_segments=segments is False, no_summary=summary is False)


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
                if t.gold is not None
            )
            if result.gold_segments is not None and result.predicted_segments is not None:
                pairs = zip(result.gold_segments, result.predicted_segments, strict=False)
                targets += f" segments={sum(g == p for g, p in pairs)}/{len(result.gold_segments)}"
            error = f" error={result.error.code}" if result.error else ""
            click.echo(
                f"[{self.done}] {result.config} {result.call_id} {result.wall_s:.1f}s {targets}{error}", err=True
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@click.command("eval")
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
@click.option("--check", is_flag=True, help="Exit 72 when a metric is below the thresholds file.")
@click.option(
    "--thresholds", type=click.Path(path_type=Path), help="Thresholds file (default: LLM_SENTIMENT_THRESHOLDS)."
)
@click.option("--labels-only", is_flag=True, help="Only the label questions (no evidence, summary, segments): fast.")
@click.option(
    "--segments/--no-segments",
    default=None,
    help="Per-segment scores (segment and trend metrics). Default: on; off with --labels-only.",
)
@click.option(
    "--summary/--no-summary",
    default=None,
    help="Summary, resolution and recommendations (resolution metric). Default: on; off with --labels-only.",
)
@click.option(
    "--audio", is_flag=True, help="Also speak the calls marked for audio (espeak-ng + sox) and analyze the recordings."
)
@click.option(
    "--calibrate",
    is_flag=True,
    help="Fit score bands and label heads on the dev split and write calibration.yaml files.",
)
@click.option("--no-lexicon", is_flag=True, help="Leave out the VADER lexicon reference row.")
@click.option("--no-cache", is_flag=True, help="Ask the models even when answers are cached.")
@pass_parts
def eval_command(
    wiring: CliParts,
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
    segments: bool | None,
    summary: bool | None,
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

    settings = load_settings()
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
        parts=eval_parts(labels_only, segments, summary),
        audio=audio,
        calibrate=calibrate,
        use_cache=not no_cache,
        lexicon=not no_lexicon,
    )
    with exit_on_error():
        if limit == 0:
            loaded = load_dataset(dataset, settings.evals_dir / "datasets")
            dev = len(loaded.select(split="dev"))
            click.echo(f"{loaded.name}: {len(loaded.calls)} calls valid ({dev} dev, {len(loaded.calls) - dev} test)")
            return
        progress = _EvalProgress()
        try:
            outcome = evaluate(request, settings, tick=progress, llm_builder=wiring.build_llm)
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
