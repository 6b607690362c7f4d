"""``python -m llm_sentiment.evals.sources fetch [NAME ...]``: download, verify, cache and convert."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import click

from llm_sentiment.errors import LLMSentimentError
from llm_sentiment.evals.dataset import SPLITS, Dataset
from llm_sentiment.evals.sources import SOURCES, fetch
from llm_sentiment.settings import Settings


def _summary(dataset: Dataset) -> str:
    """Calls and label counts per split, as the dataset READMEs report them."""
    lines = [f"{dataset.name}: {len(dataset.calls)} calls in {dataset.root}"]
    for split in SPLITS:
        calls = dataset.select(split=split)
        customer = Counter(c.labels.customer.sentiment for c in calls if c.labels.customer)
        resolution = Counter(c.labels.resolution for c in calls if c.labels.resolution)
        segments = Counter(label for c in calls for label in c.labels.segments or [])
        parts = [
            f"{name} {dict(sorted(counts.items()))}"
            for name, counts in (("customer", customer), ("resolution", resolution), ("segments", segments))
            if counts
        ]
        lines.append(f"  {split}: {len(calls)} calls; " + "; ".join(parts))
    for subset, members in dataset.manifest.subsets.items():
        lines.append(f"  {subset}: {', '.join(members)}")
    return "\n".join(lines)


@click.group()
def main() -> None:
    """Public datasets with human labels, as eval datasets."""


@main.command("fetch")
@click.argument("names", nargs=-1, type=click.Choice(sorted(SOURCES)))
@click.option(
    "--mirror",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Read the pinned files from local git mirrors (<DIR>/<owner>+<name>) instead of GitHub.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write <OUT>/<name>/ instead of the cache (only where the source's licence allows sharing it).",
)
def fetch_command(names: tuple[str, ...], mirror: Path | None, out: Path | None) -> None:
    """Download (or read from --mirror), verify and convert NAMES (default: all)."""
    home = Settings().home
    for name in names or sorted(SOURCES):
        try:
            dataset = fetch(SOURCES[name], home, out=out, mirror=mirror)
        except LLMSentimentError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)
        click.echo(_summary(dataset))


if __name__ == "__main__":
    main()
