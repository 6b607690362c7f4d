"""Docs that must not drift from the code."""

from __future__ import annotations

import importlib.util

from tests.conftest import REPO


def test_cli_reference_matches_help() -> None:
    spec = importlib.util.spec_from_file_location("cli_docs", REPO / "scripts" / "cli_docs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (REPO / "docs" / "cli.md").read_text(encoding="utf-8") == module.render(), (
        "docs/cli.md is stale: run `.venv/bin/python scripts/cli_docs.py`"
    )


def test_readme_documents_every_error_code() -> None:
    from llm_sentiment import errors

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    codes = {
        cls.code
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.LLMSentimentError) and cls.__subclasses__() == []
    }
    missing = sorted(code for code in codes if f"`{code}`" not in readme)
    assert not missing, f"README's error table lacks {missing}"
