"""The folders tell the pipeline: an import points only down the layers, and adapters only into composition roots.

    transcript 1 < speech 2 < llm 3 < ask 4 < roles 5 < analysis 6 < views 7 < service 8 < evals 9 < cli 10

``errors``, ``settings``, ``assets`` and ``_util`` are the shared base every layer may use (and which uses
no layer). Adapters run native code or reach a provider; only composition roots import them.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "llm_sentiment"
LAYERS = {
    "transcript": 1,
    "speech": 2,
    "llm": 3,
    "ask": 4,
    "roles": 5,
    "analysis": 6,
    "views": 7,
    "service": 8,
    "evals": 9,
    "cli": 10,
}
BASE = {"errors", "settings", "assets", "_util"}
ROOTS = {"llm_sentiment", "llm_sentiment.__main__", "llm_sentiment.wiring", "llm_sentiment.service.wiring"}
"""Composition roots: they build the adapters (``cli`` builds through ``wiring``)."""
ADAPTERS = {
    "llm_sentiment.llm.litellm",
    "llm_sentiment.llm.llama_cpp",
    "llm_sentiment.speech.whisper",
    "llm_sentiment.speech.diarize",
    "llm_sentiment.speech.host",
}
"""``speech.host`` is also the composition root of the speech process, so it may import the speech adapters."""
WIRING_USERS = {"service", "evals", "cli"}
"""The layers above the analysis that are handed the CLI's wiring (``wiring.py``)."""


def _module(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every llm_sentiment module ``path`` imports, at the top or inside a function."""
    module = _module(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("llm_sentiment"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target.startswith("llm_sentiment"):
                found.add(target)
                found.update(f"{target}.{a.name}" for a in node.names if _is_module(f"{target}.{a.name}"))
    return found


def _is_module(name: str) -> bool:
    """``from llm_sentiment.llm import llama_cpp`` imports a module, not a name."""
    path = REPO.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _is_root(module: str) -> bool:
    return module in ROOTS or _top(module) == "cli" or module == "llm_sentiment.speech.host"


def violations() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        importer = _module(path)
        for target in sorted(_imports(path)):
            if target == importer or target.startswith(importer + "."):
                continue
            source, dest = _top(importer), _top(target)
            if target in ADAPTERS and not _is_root(importer):
                found.append(f"{importer} imports the adapter {target} (only composition roots may)")
            if source in BASE and dest not in BASE and dest:
                found.append(f"{importer} (shared base) imports {target}")
            if target == "llm_sentiment.wiring" and source not in WIRING_USERS and not _is_root(importer):
                found.append(f"{importer} imports the composition root {target}")
            if source in LAYERS and dest in LAYERS and LAYERS[dest] > LAYERS[source]:
                found.append(f"{importer} (layer {LAYERS[source]}) imports {target} (layer {LAYERS[dest]})")
    return found


def test_imports_point_down_the_layers_and_adapters_only_into_roots() -> None:
    assert violations() == []


def test_the_rule_catches_a_lower_layer_importing_a_higher_one(tmp_path: Path) -> None:
    """The check itself can fail: a transcript module that imports the analysis is reported."""
    probe = PACKAGE / "transcript" / "_layout_probe.py"
    probe.write_text("from llm_sentiment.analysis.result import Analysis\nfrom llm_sentiment.llm import llama_cpp\n")
    try:
        found = violations()
    finally:
        probe.unlink()
    assert any("layer 1) imports llm_sentiment.analysis.result (layer 6)" in v for v in found)
    assert any("imports the adapter llm_sentiment.llm.llama_cpp" in v for v in found)
