"""Question templates: Jinja files with YAML front matter, rendered in a sandbox.

A template's variables are data. Jinja never evaluates the *value* of a variable, so a transcript
line reading ``{{ 7*7 }}`` renders as those characters; transcripts are never compiled as source.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import yaml
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import BaseModel, Field, ValidationError

from llm_sentiment.errors import TemplateError
from llm_sentiment.llm.base import ChatMessage
from llm_sentiment.transcript.model import Role, Segment
from llm_sentiment.transcript.units import Unit

from .calibration import Calibration

_FRONT_MATTER = re.compile(r"\A---\s*\n(?P<meta>.*?)\n---\s*\n(?P<body>.*)\Z", re.DOTALL)
_DELIMITER = re.compile(r"</?\s*(?:transcript|lines)\s*>", re.IGNORECASE)
_BREAKS_AND_CONTROLS = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]+")
SYSTEM_ID = "system"
DIGEST_ID = "digest"
SYSTEM_IDS = (SYSTEM_ID, DIGEST_ID)
"""Templates that render a shared system message rather than a question."""


class TemplateMeta(BaseModel):
    id: str
    version: str
    output: str | None = None
    description: str
    system: str = Field(
        SYSTEM_ID,
        description="The system template this question is asked after. Questions that share one (the "
        "default) share the transcript as a KV-cached prefix; a label question may name a short system "
        "template instead and show only the lines it judges.",
    )


@dataclass(frozen=True)
class QuestionTemplate:
    meta: TemplateMeta
    path: Path
    sha256: str
    template: jinja2.Template

    def render(self, **variables: Any) -> str:
        try:
            return self.template.render(**variables).strip()
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"template {self.meta.id!r} ({self.path}): {exc.message}") from None
        except jinja2.TemplateError as exc:
            raise TemplateError(f"template {self.meta.id!r} ({self.path}): {exc}") from None


def _environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["data"] = as_data
    return env


def as_data(value: object) -> str:
    """Transcript text as one line of data: line breaks and control characters become a space (a newline
    inside a segment could otherwise forge a ``[3] AGENT:`` line), and our own delimiters are defused so
    the text cannot close its data block."""
    text = _BREAKS_AND_CONTROLS.sub(" ", str(value))
    return _DELIMITER.sub(lambda m: m.group(0).replace("<", "‹").replace(">", "›"), text)


def _load(path: Path, env: ImmutableSandboxedEnvironment) -> QuestionTemplate:
    source = path.read_text(encoding="utf-8")
    match = _FRONT_MATTER.match(source)
    if not match:
        raise TemplateError(f"{path}: missing YAML front matter (--- id/version/output/description ---)")
    try:
        meta = TemplateMeta.model_validate(yaml.safe_load(match.group("meta")))
    except (yaml.YAMLError, ValidationError) as exc:
        raise TemplateError(f"{path}: bad front matter: {exc}") from None
    try:
        template = env.from_string(match.group("body"))
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"{path}:{exc.lineno}: {exc.message}") from None
    return QuestionTemplate(meta=meta, path=path, sha256=hashlib.sha256(source.encode()).hexdigest(), template=template)


class PromptSet:
    """All templates of one prompt version (``prompts/<version>/*.j2``).

    A version may hold only what it changes: ``prompts/<version>/version.yaml`` with ``extends: v1``
    takes every template it does not define from that version (and so on up the chain).
    ``calibration.yaml`` (score bands fitted for this version's own prompts) is never inherited.
    """

    def __init__(self, root: Path, version: str) -> None:
        self.version = version
        self.templates: dict[str, QuestionTemplate] = {}
        env = _environment()
        chain = _version_chain(root, version)
        for directory in reversed(chain):
            own: dict[str, QuestionTemplate] = {}
            for path in sorted(directory.glob("*.j2")):
                template = _load(path, env)
                if template.meta.id in own:
                    raise TemplateError(f"{path}: duplicate template id {template.meta.id!r}")
                own[template.meta.id] = template
            self.templates.update(own)
        if SYSTEM_ID not in self.templates:
            raise TemplateError(f"{chain[0]}: no template with id 'system'")
        for template in self.templates.values():
            if template.meta.system not in self.templates:
                raise TemplateError(f"{template.path}: system template {template.meta.system!r} not found")
        self.calibration = _calibration(chain[0] / "calibration.yaml")

    def __getitem__(self, template_id: str) -> QuestionTemplate:
        try:
            return self.templates[template_id]
        except KeyError:
            raise TemplateError(
                f"no template {template_id!r} in prompt version {self.version!r}",
                hint=f"Templates: {', '.join(sorted(self.templates))}.",
            ) from None

    def system_message(self, lines: list[Unit], part: Part | None = None) -> ChatMessage:
        """Identical for every question of a call (or of one part of a long call), so the model reuses
        its KV cache for the transcript. ``lines`` are the call's units, shown with the ids quotes name."""
        return ChatMessage(role="system", content=self[SYSTEM_ID].render(segments=line_rows(lines), part=part))

    def digest_message(self, parts: list[DigestPart]) -> ChatMessage:
        """The shared prefix of the reduce step of a long call: each part's notes and telling lines."""
        rows = [
            {
                "index": p.index,
                "start": _clock(p.start),
                "end": _clock(p.end),
                "notes": p.notes,
                "segments": line_rows(p.lines),
            }
            for p in parts
        ]
        return ChatMessage(role="system", content=self[DIGEST_ID].render(parts=rows))

    def messages(self, template_id: str, shown: list[Unit], **variables: Any) -> list[ChatMessage]:
        """A question after the system message that shows ``shown`` (or the question's own short one)."""
        return self.ask(self.system_for(template_id, self.system_message(shown)), template_id, **variables)

    def system_for(self, template_id: str, shared: ChatMessage) -> ChatMessage:
        """``shared`` (the transcript prefix), or the short system message the question names instead."""
        system_id = self[template_id].meta.system
        if system_id == SYSTEM_ID:
            return shared
        return ChatMessage(role="system", content=self[system_id].render())

    def ask(self, system: ChatMessage, template_id: str, **variables: Any) -> list[ChatMessage]:
        """A question after a shared system message."""
        return [system, ChatMessage(role="user", content=self[template_id].render(**variables))]


@dataclass(frozen=True)
class Part:
    """Where a window sits in a long call, for the system message."""

    index: int
    count: int
    context_until: int | None
    """The last segment id repeated from the previous part as context."""


@dataclass(frozen=True)
class DigestPart:
    index: int
    start: float | None
    end: float | None
    notes: str
    lines: list[Unit]


def _calibration(path: Path) -> Calibration | None:
    if not path.is_file():
        return None
    try:
        # the C loader where PyYAML has it: a probe's weights are a few thousand numbers (0.15 s in pure Python)
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        return Calibration.model_validate(yaml.load(path.read_text(encoding="utf-8"), Loader=loader))  # noqa: S506 (a safe loader)
    except (yaml.YAMLError, ValidationError) as exc:
        raise TemplateError(f"{path}: bad calibration: {exc}") from None


_VERSION_NAME = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*")
"""A prompt version is a directory's name (``v5``, ``v5.1``), never a path: no ``/``, no ``..``."""


def prompt_versions(root: Path) -> list[str]:
    """The prompt versions under ``root``: its directories named like a version."""
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and _VERSION_NAME.fullmatch(p.name))


def _version_chain(root: Path, version: str) -> list[Path]:
    """``[prompts/v3, prompts/v2, prompts/v1]`` for a v3 that extends v2 that extends v1."""
    chain: list[Path] = []
    current: str | None = version
    while current is not None:
        directory = root / current
        if not _VERSION_NAME.fullmatch(current) or not directory.is_dir():
            raise TemplateError(
                f"no prompt version {current!r} in {root}",
                hint=f"Available versions: {', '.join(prompt_versions(root)) or 'none'}.",
            )
        if directory in chain:
            raise TemplateError(f"prompt versions extend each other in a loop: {current!r}")
        chain.append(directory)
        manifest = directory / "version.yaml"
        current = None
        if manifest.is_file():
            try:
                parent = (yaml.safe_load(manifest.read_text(encoding="utf-8")) or {}).get("extends")
            except yaml.YAMLError as exc:
                raise TemplateError(f"{manifest}: {exc}") from None
            current = str(parent) if parent else None
    return chain


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes:02d}:{secs:02d}"


def role_rows(segments: list[Segment], role: Role | None) -> list[dict[str, Any]]:
    """Template rows for one role's segments (all segments for ``None``)."""
    return [_row(str(s.id), s, s.start, s.text) for s in segments if role is None or s.role == role]


def line_rows(lines: list[Unit]) -> list[dict[str, Any]]:
    """Template rows for transcript lines, each with the id an answer names it by (``7``, ``7.2``)."""
    return [_row(u.key, u.segment, u.start, u.text) for u in lines]


def _row(key: str, segment: Segment, start: float | None, text: str) -> dict[str, Any]:
    return {
        "id": key,
        "speaker": segment.speaker,
        "role": (segment.role or "unknown").upper(),
        "time": _clock(start),
        "text": text,
    }
