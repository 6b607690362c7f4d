"""Schemathesis against our own OpenAPI spec on a live server: no 5xx, every response as documented.

The cases are driven through schemathesis's Python API (its pytest plugin predates this pytest),
a bounded number per operation, so CI's cost stays at seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.integration.test_api import running_api, submit

MAX_EXAMPLES = 40
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def test_every_operation_conforms_to_the_spec(tmp_path: Path) -> None:
    with running_api(tmp_path, max_upload_bytes=1 << 16) as api:
        with api.client() as client:
            api.wait(submit(client).json()["job_id"])  # one real job, so some ids exist
        schema = schemathesis.openapi.from_url(f"{api.url}/openapi.json")
        headers = {"authorization": f"Bearer {api.key}"}
        cases: dict[str, int] = {}

        def call(case: schemathesis.Case, label: str) -> None:
            cases[label] += 1
            case.call_and_validate(base_url=api.url, headers=headers, checks=CHECKS)

        for result in schema.get_all_operations():
            operation = result.ok()
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                label = f"{operation.method.upper()} {operation.path} ({mode.value})"
                cases[label] = 0
                _fuzz(operation, mode, lambda case, label=label: call(case, label))

    positive = {label: n for label, n in cases.items() if label.endswith("(positive)")}
    assert len(positive) >= 10 and all(positive.values()), cases
    negative = sum(n for label, n in cases.items() if label.endswith("(negative)"))
    print(
        f"\nschemathesis: {sum(cases.values())} cases ({sum(positive.values())} positive, {negative} negative) "
        f"over {len(positive)} operations: {cases}"
    )


def _fuzz(operation: Any, mode: GenerationMode, check: Callable[[schemathesis.Case], None]) -> None:
    """Positive cases fit the spec; negative ones do not, and must be refused as documented, never with a 5xx."""
    try:
        strategy = operation.as_strategy(generation_mode=mode)
    except Exception:
        return

    @given(strategy)
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def conforms(case: schemathesis.Case) -> None:
        check(case)

    try:
        conforms()
    except Unsatisfiable:
        if mode is GenerationMode.POSITIVE:
            raise  # only an operation without inputs has no invalid ones
