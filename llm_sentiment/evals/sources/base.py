"""What every source shares: pinned downloads with checksums, the raw-file cache, the split, the
sample, and writing the converted calls.

Sources are public datasets on GitHub. A file is named by repository, commit and path, so what is
converted never changes under us; its sha256 is checked before it is used or cached. The split
and the sample hash the conversation id, so they do not depend on file order, and rerunning the
converter writes the same calls.
"""

from __future__ import annotations

import hashlib
import subprocess
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from llm_sentiment.errors import DatasetError
from llm_sentiment.evals.dataset import Dataset, EvalCall, Split, load_dataset

_TIMEOUT_S = 120
T = TypeVar("T")


@dataclass(frozen=True)
class RemoteFile:
    """One file at a pinned commit. ``repos`` are tried in order: the dataset's own repository first,
    then forks with the same commit (a fork serves the same bytes, and the checksum proves it)."""

    repos: tuple[str, ...]
    commit: str
    path: str
    sha256: str

    @property
    def name(self) -> str:
        return Path(self.path).name

    def url(self, repo: str) -> str:
        return f"https://raw.githubusercontent.com/{repo}/{self.commit}/{self.path}"


@dataclass(frozen=True)
class Conversion:
    """A source's converted calls and what the manifest says about them."""

    calls: list[EvalCall]
    description: str
    subsets: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Source:
    name: str
    files: tuple[RemoteFile, ...]
    convert: Callable[[Mapping[str, Path]], Conversion]
    """Raw files by file name -> the calls."""
    pool: Callable[[Mapping[str, Path]], list[EvalCall]] | None = None
    """Raw files -> every labeled conversation the sample is drawn from (both splits), where there are more
    than the sample: what a probe is fitted on (its dev split only, ``evals.fit_probe``)."""


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def verify(data: bytes, remote: RemoteFile, where: str) -> None:
    """A DatasetError that says which file, from where, and both digests, unless ``data`` is the pinned
    bytes: the file changed upstream, or the download is broken."""
    found = sha256_of(data)
    if found != remote.sha256:
        raise DatasetError(
            f"sha256 mismatch: {remote.path} from {where} has sha256 {found}, not the pinned {remote.sha256}",
            hint="The file changed upstream or the download is broken; nothing was cached. "
            "Check the pinned commit before changing the checksum.",
        )


def _mirror_git_dir(mirror: Path, repo: str) -> Path | None:
    """A local git mirror of ``repo`` as `<mirror>/<owner>+<name>/`, bare or with a work tree."""
    root = mirror / repo.replace("/", "+")
    for candidate in (root / "repo" / ".git", root / "repo", root / ".git", root):
        if (candidate / "objects").is_dir():
            return candidate
    return None


def _read_mirror(remote: RemoteFile, mirror: Path) -> tuple[bytes, str]:
    for repo in remote.repos:
        git_dir = _mirror_git_dir(mirror, repo)
        if git_dir is None:
            continue
        shown = subprocess.run(
            ["git", "--git-dir", str(git_dir), "show", f"{remote.commit}:{remote.path}"],
            capture_output=True,
            check=False,
        )
        if shown.returncode == 0:
            return shown.stdout, f"{git_dir} at {remote.commit[:12]}"
    raise DatasetError(
        f"no mirror of {' or '.join(remote.repos)} in {mirror} has {remote.path} at {remote.commit[:12]}",
        hint="Mirrors are git directories named <owner>+<name>.",
    )


def _download(remote: RemoteFile) -> tuple[bytes, str]:
    errors = []
    for repo in remote.repos:
        url = remote.url(repo)
        try:  # an https URL built from pinned constants
            with urllib.request.urlopen(url, timeout=_TIMEOUT_S) as response:  # noqa: S310
                return response.read(), url
        except OSError as exc:  # URLError, HTTPError, timeouts, resets
            errors.append(f"{url}: {exc}")
    raise DatasetError(
        f"cannot download {remote.path}: {'; '.join(errors)}", hint="Or read a local copy: --mirror DIR."
    )


def fetch_file(remote: RemoteFile, cache_dir: Path, mirror: Path | None = None) -> Path:
    """The cached copy of ``remote``, fetched and verified first when missing or not the pinned bytes."""
    cached = cache_dir / remote.name
    if cached.is_file() and sha256_of(cached.read_bytes()) == remote.sha256:
        return cached
    data, where = _read_mirror(remote, mirror) if mirror is not None else _download(remote)
    verify(data, remote, where)
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(cached.suffix + ".part")
    partial.write_bytes(data)
    partial.replace(cached)
    return cached


def split_of(source: str, conversation: str) -> Split:
    """About half dev, half test, by a hash of the conversation id: every turn of a conversation stays
    in one split, and the split does not depend on file order."""
    return "dev" if hashlib.sha256(f"{source}:{conversation}".encode()).digest()[0] % 2 == 0 else "test"


def sample(
    items: Iterable[T],
    *,
    source: str,
    key: Callable[[T], str],
    stratum: Callable[[T], str],
    per_stratum: int,
) -> list[T]:
    """Up to ``per_stratum`` items of every stratum, chosen by a hash of their id (deterministic, and
    unrelated to length, position or label), returned in id order."""

    def rank(item: T) -> str:
        return hashlib.sha256(f"{source}:sample:{key(item)}".encode()).hexdigest()

    groups: dict[str, list[T]] = {}
    for item in items:
        groups.setdefault(stratum(item), []).append(item)
    chosen = [item for group in groups.values() for item in sorted(group, key=rank)[:per_stratum]]
    return sorted(chosen, key=key)


def shortest_covering(
    calls: Sequence[EvalCall], labels_of: Callable[[EvalCall], set[str]], labels: Iterable[str], per_label: int
) -> list[str]:
    """The ids of the shortest test calls that give every label ``per_label`` calls (the ``ci`` subset)."""
    chosen: list[EvalCall] = []
    for label in labels:
        have = sum(1 for c in chosen if label in labels_of(c))
        for call in sorted((c for c in calls if c.split == "test" and c not in chosen), key=lambda c: (c.words, c.id)):
            if have >= per_label:
                break
            if label in labels_of(call):
                chosen.append(call)
                have += 1
    return sorted(c.id for c in chosen)


class _LiteralDumper(yaml.SafeDumper):
    """Multi-line strings as `|` blocks, as the hand-written call files have them."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_LiteralDumper.add_representer(str, _str)


def _dump(data: Any) -> str:
    return yaml.dump(
        data, Dumper=_LiteralDumper, sort_keys=False, allow_unicode=True, width=120, default_flow_style=None
    )


def write_dataset(name: str, conversion: Conversion, out: Path) -> Dataset:
    """``out`` as an eval dataset (dataset.yaml and calls/<id>.yaml, earlier calls removed), loaded back
    through the same validation as every dataset."""
    calls_dir = out / "calls"
    calls_dir.mkdir(parents=True, exist_ok=True)
    for stale in calls_dir.glob("*.yaml"):
        stale.unlink()
    manifest = {"name": name, "description": conversion.description, "subsets": conversion.subsets}
    (out / "dataset.yaml").write_text(_dump(manifest), encoding="utf-8")
    for call in conversion.calls:
        data = call.model_dump(mode="json", exclude_defaults=True)
        (calls_dir / f"{call.id}.yaml").write_text(_dump(data), encoding="utf-8")
    return load_dataset(str(out), out.parent)
