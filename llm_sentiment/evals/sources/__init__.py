"""Public conversation datasets with human labels, converted into eval datasets.

Each source module pins its files (repository, commit, sha256), maps the source's annotations to
our labels with a rule of its own (a pure function, tested) and samples a practical number of
conversations. ``python -m llm_sentiment.evals.sources fetch`` downloads, verifies, caches and
converts; see evals/datasets/README.md.
"""

from __future__ import annotations

from pathlib import Path

from llm_sentiment.evals.dataset import Dataset
from llm_sentiment.evals.sources import dailydialog, stc3
from llm_sentiment.evals.sources.base import Source, fetch_file, write_dataset

SOURCES: dict[str, Source] = {source.name: source for source in (stc3.SOURCE, dailydialog.SOURCE)}


def fetch(source: Source, home: Path, *, out: Path | None = None, mirror: Path | None = None) -> Dataset:
    """Raw files into ``<home>/datasets/<name>/raw/`` (verified), the converted dataset into
    ``<out>/<name>/``, by default ``<home>/datasets/<name>/`` next to them: only a source whose licence
    lets the repository carry its conversations is written into the checkout (``--out evals/datasets``)."""
    root = home / "datasets" / source.name
    raw = {remote.name: fetch_file(remote, root / "raw", mirror) for remote in source.files}
    return write_dataset(source.name, source.convert(raw), out / source.name if out else root)
