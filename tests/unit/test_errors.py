"""The error tree's contract: one exit code per error code, and every leaf a code of its own."""

from __future__ import annotations

from llm_sentiment import errors


def _leaves() -> list[type[errors.LLMSentimentError]]:
    found, pending = [], [errors.LLMSentimentError]
    while pending:
        cls = pending.pop()
        children = cls.__subclasses__()
        pending.extend(children)
        if not children:
            found.append(cls)
    return found


def test_each_error_code_has_its_own_exit_code() -> None:
    by_exit: dict[int, set[str]] = {}
    for cls in _leaves():
        by_exit.setdefault(cls.exit_code, set()).add(cls.code)
    shared = {code: names for code, names in by_exit.items() if len(names) > 1}
    assert not shared, f"exit codes shared by different errors: {shared}"


def test_each_leaf_has_an_http_status_and_a_code_of_its_own() -> None:
    leaves = _leaves()
    assert len({cls.code for cls in leaves}) == len(leaves)
    assert all(400 <= cls.http_status < 600 for cls in leaves)
