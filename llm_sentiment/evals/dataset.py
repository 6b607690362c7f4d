"""Labeled calls: the typed shape of one call file, loading, validation and selection.

A dataset is a directory ``<datasets>/<name>/`` with ``dataset.yaml`` (name, description, named
subsets) and ``calls/<id>.yaml``, one call per file. ``evals/datasets/call.schema.json`` is
generated from :class:`EvalCall` (``scripts/eval_schema.py``) for editors and other tools.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from llm_sentiment.ask.answers import LABELS, Label
from llm_sentiment.errors import DatasetError, LLMSentimentError
from llm_sentiment.roles.rules import parse_roles_spec
from llm_sentiment.transcript.formats import parse_plain_text

DEFAULT_DATASET = "callcenter"
"""The hand-written calls that label everything: what ``eval`` scores unless told otherwise."""
Split = Literal["dev", "test"]
SPLITS: tuple[Split, ...] = get_args(Split)
Trend = Literal["improving", "stable", "declining"]
TRENDS: tuple[Trend, ...] = get_args(Trend)
Resolution = Literal["resolved", "partial", "unresolved"]
RESOLUTIONS: tuple[Resolution, ...] = get_args(Resolution)
Layout = Literal["stereo", "mono"]
Tag = Literal[
    "admin",
    "sarcasm",
    "polite_negative",
    "improving",
    "declining",
    "resolved_unhappy",
    "unresolved_content",
    "rude_agent",
    "injection",
    "non_english",
    "code_switched",
    "long",
]

_ORDER = {label: rank for rank, label in enumerate(reversed(LABELS))}  # negative < neutral < positive


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RoleLabels(_Strict):
    """One role's sentiment over the call; ``start``/``end`` only where it changes."""

    sentiment: Label = Field(description="Prevailing sentiment, most weight on the end of the call.")
    start: Label | None = Field(None, description="Sentiment in the opening part, when it differs from the end.")
    end: Label | None = Field(None, description="Sentiment in the closing part, when it differs from the start.")
    trend: Trend | None = Field(None, description="Left out where the source does not say how the role changed.")

    @model_validator(mode="after")
    def _consistent(self) -> RoleLabels:
        if (self.start is None) != (self.end is None):
            raise ValueError("give both start and end, or neither")
        if self.start is None or self.end is None:
            if self.trend not in (None, "stable"):
                raise ValueError(f"trend {self.trend!r} needs start and end labels")
            return self
        if self.start == self.end:
            raise ValueError("start and end are the same: leave them out and use trend: stable")
        expected = "improving" if _ORDER[self.end] > _ORDER[self.start] else "declining"
        if self.trend != expected:
            raise ValueError(f"{self.start} -> {self.end} is {expected}, not {self.trend}")
        return self


class CallLabels(_Strict):
    """Every label is optional, for sources that label only some of them; a missing one is not scored."""

    customer: RoleLabels | None = None
    agent: RoleLabels | None = None
    overall: Label | None = Field(None, description="How the call went as a whole.")
    resolution: Resolution | None = None
    segments: list[Label] | None = Field(
        None, description="The speaker's sentiment in each transcript segment, in order (one per `Speaker:` line)."
    )

    @model_validator(mode="after")
    def _something(self) -> CallLabels:
        if all(getattr(self, name) is None for name in type(self).model_fields):
            raise ValueError("give at least one label")
        return self


class EvalCall(_Strict):
    """One labeled call. The transcript is plain text: one `Speaker: text` line per turn, optional `[mm:ss]`."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    split: Split = Field(description="dev: for prompt work; test: for the gate.")
    summary: str = Field(min_length=1, description="What the call is and why it is in the set.")
    tags: list[Tag] = Field(default_factory=list, description="The hard cases the call covers.")
    language: str = Field("en", description="BCP-47-ish: en, es, fr, de; es-en for code-switched calls.")
    roles: str | None = Field(None, description='A --roles spec, e.g. "Ines=agent,Mr. Walsh=customer".')
    audio: Layout | None = Field(None, description="Also rendered as audio (espeak-ng + sox) in this layout.")
    transcript: str = Field(min_length=1)
    labels: CallLabels

    @property
    def words(self) -> int:
        """Spoken words (speaker labels and timestamps excluded)."""
        return sum(len(s.text.split()) for s in parse_plain_text(self.transcript).segments)


class DatasetManifest(_Strict):
    name: str
    description: str
    subsets: dict[str, list[str]] = Field(default_factory=dict, description="Named, fixed lists of call ids.")


class Dataset(BaseModel):
    manifest: DatasetManifest
    root: Path
    calls: list[EvalCall]

    @property
    def name(self) -> str:
        return self.manifest.name

    def select(
        self, *, split: Split | None = None, subset: str | None = None, limit: int | None = None
    ) -> list[EvalCall]:
        """Calls in file order, filtered by split and named subset, then the first ``limit``."""
        chosen = self.calls
        if subset is not None:
            if subset not in self.manifest.subsets:
                raise DatasetError(
                    f"dataset {self.name!r} has no subset {subset!r}",
                    hint=f"Subsets: {', '.join(sorted(self.manifest.subsets)) or 'none'}.",
                )
            wanted = set(self.manifest.subsets[subset])
            chosen = [c for c in chosen if c.id in wanted]
        if split is not None:
            chosen = [c for c in chosen if c.split == split]
        return chosen[:limit] if limit is not None else chosen


def call_schema() -> dict[str, Any]:
    """The JSON schema of one call file."""
    schema = EvalCall.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "llm-sentiment eval call"
    return schema


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc.strerror}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path} is not valid UTF-8 YAML: {exc}") from None


def _first_error(path: Path, exc: ValidationError) -> DatasetError:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "file"
    return DatasetError(f"{path}: {where}: {first['msg']}", hint="See evals/datasets/call.schema.json.")


def load_call(path: Path) -> EvalCall:
    """One call file, validated: schema, id = file name, a parseable transcript, segment labels that fit it."""
    try:
        call = EvalCall.model_validate(_read_yaml(path))
    except ValidationError as exc:
        raise _first_error(path, exc) from None
    if call.id != path.stem:
        raise DatasetError(f"{path}: id {call.id!r} does not match the file name")
    try:
        transcript = parse_plain_text(call.transcript)
        if call.roles:
            parse_roles_spec(call.roles)
    except LLMSentimentError as exc:
        raise DatasetError(f"{path}: {exc.message}") from None
    if call.roles:
        unknown = set(parse_roles_spec(call.roles)) - set(transcript.speakers())
        if unknown:
            raise DatasetError(f"{path}: roles name speakers not in the transcript: {', '.join(sorted(unknown))}")
    segments = call.labels.segments
    if segments is not None and len(segments) != len(transcript.segments):
        raise DatasetError(
            f"{path}: labels.segments has {len(segments)} labels for {len(transcript.segments)} transcript segments"
        )
    return call


def load_dataset(name_or_path: str, datasets_dir: Path) -> Dataset:
    """By name (``datasets_dir/<name>``) or by directory path."""
    root = Path(name_or_path)
    if not (root / "dataset.yaml").is_file():
        root = datasets_dir / name_or_path
    manifest_path = root / "dataset.yaml"
    if not manifest_path.is_file():
        available = sorted(p.name for p in datasets_dir.iterdir() if (p / "dataset.yaml").is_file())
        raise DatasetError(
            f"no dataset {name_or_path!r} (looked for {manifest_path})",
            hint=f"Datasets in {datasets_dir}: {', '.join(available) or 'none'}.",
        )
    try:
        manifest = DatasetManifest.model_validate(_read_yaml(manifest_path))
    except ValidationError as exc:
        raise _first_error(manifest_path, exc) from None
    calls = [load_call(path) for path in sorted((root / "calls").glob("*.yaml"))]
    if not calls:
        raise DatasetError(f"dataset {manifest.name!r} has no calls in {root / 'calls'}")
    ids = [c.id for c in calls]
    for subset, members in manifest.subsets.items():
        missing = sorted(set(members) - set(ids))
        if missing:
            raise DatasetError(f"{manifest_path}: subset {subset!r} names unknown calls: {', '.join(missing)}")
    return Dataset(manifest=manifest, root=root, calls=calls)


def schema_json() -> str:
    return json.dumps(call_schema(), indent=2, ensure_ascii=False) + "\n"
