"""The labeled dataset: valid, split, and covering what the issue asks for on purpose."""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from pathlib import Path

import jsonschema
import pytest
import yaml

from llm_sentiment.errors import DatasetError
from llm_sentiment.evals.dataset import EvalCall, RoleLabels, load_call, load_dataset, schema_json
from llm_sentiment.evals.sources import dailydialog
from llm_sentiment.transcript.formats import parse_plain_text
from llm_sentiment.wiring import load_call as load_transcript_file
from tests.conftest import REPO

DATASETS = REPO / "evals" / "datasets"
LABELS = ("positive", "neutral", "negative")


@pytest.fixture(scope="module")
def calls() -> list[EvalCall]:
    return load_dataset("callcenter", DATASETS).calls


def test_schema_file_matches_the_model() -> None:
    assert (DATASETS / "call.schema.json").read_text(encoding="utf-8") == schema_json(), (
        "call.schema.json is stale: run `.venv/bin/python scripts/eval_schema.py`"
    )


def test_every_call_file_validates_against_the_json_schema() -> None:
    schema = json.loads((DATASETS / "call.schema.json").read_text(encoding="utf-8"))
    for path in sorted((DATASETS / "callcenter" / "calls").glob("*.yaml")):
        jsonschema.validate(yaml.safe_load(path.read_text(encoding="utf-8")), schema)


def test_size_and_splits(calls: list[EvalCall]) -> None:
    splits = Counter(c.split for c in calls)
    assert len(calls) >= 60
    assert splits["dev"] >= 25 and splits["test"] >= 25
    for split in ("dev", "test"):
        for role in ("customer", "agent"):
            seen = {getattr(c.labels, role).sentiment for c in calls if c.split == split}
            assert seen == set(LABELS), f"{split} lacks some {role} label"


def test_every_customer_label_crossed_with_every_agent_label(calls: list[EvalCall]) -> None:
    combos = Counter((c.labels.customer.sentiment, c.labels.agent.sentiment) for c in calls)
    for pair in itertools.product(LABELS, LABELS):
        assert combos[pair] >= 3, f"only {combos[pair]} calls with customer/agent {pair}"


def test_the_hard_cases_are_covered(calls: list[EvalCall]) -> None:
    tags = Counter(t for c in calls for t in c.tags)
    for tag in ("sarcasm", "polite_negative", "resolved_unhappy", "unresolved_content", "rude_agent", "injection"):
        assert tags[tag] >= 3, tag
    assert tags["admin"] >= 10
    trends = Counter(c.labels.customer.trend for c in calls)
    assert trends["improving"] >= 3 and trends["declining"] >= 3
    assert any(c.labels.agent.trend != "stable" for c in calls)
    for call in calls:
        if "resolved_unhappy" in call.tags:
            assert call.labels.resolution == "resolved" and call.labels.customer.sentiment == "negative"
        if "unresolved_content" in call.tags:
            assert call.labels.resolution != "resolved" and call.labels.customer.sentiment != "negative"
        if "polite_negative" in call.tags or "sarcasm" in call.tags:
            assert call.labels.customer.sentiment == "negative", call.id


def test_speaker_label_conventions(calls: list[EvalCall]) -> None:
    pairs = {frozenset(parse_plain_text(c.transcript).speakers()) for c in calls}
    for pair in ({"Rep", "Caller"}, {"Member", "Customer Support"}, {"A", "C"}, {"Agent", "Customer"}):
        assert frozenset(pair) in pairs, pair


def test_languages_long_calls_audio_and_segment_labels(calls: list[EvalCall]) -> None:
    assert sum(1 for c in calls if c.language != "en") >= 5
    assert sum(1 for c in calls if "-" in c.language) >= 2  # code-switched
    long_calls = [c for c in calls if "long" in c.tags]
    assert len(long_calls) >= 3
    for call in long_calls:
        assert call.words >= 2300, f"{call.id}: {call.words} words"
        last = re.findall(r"^\[(\d+):(\d+)\]", call.transcript, flags=re.MULTILINE)[-1]
        assert int(last[0]) * 60 + int(last[1]) > 15 * 60
    layouts = Counter(c.audio for c in calls if c.audio)
    assert sum(layouts.values()) >= 12 and layouts["stereo"] and layouts["mono"]
    assert all(c.language == "en" and "long" not in c.tags for c in calls if c.audio)
    assert sum(1 for c in calls if c.labels.segments) >= 10


def test_roles_resolve_to_one_agent_and_one_customer(calls: list[EvalCall], tmp_path: Path) -> None:
    """Through the pipeline's own loader, as the runner loads them."""
    for call in calls:
        path = tmp_path / f"{call.id}.txt"
        path.write_text(call.transcript, encoding="utf-8")
        transcript = load_transcript_file(path, roles=call.roles)
        assert transcript.role_mapping is not None
        assert sorted(set(transcript.role_mapping.speakers.values())) == ["agent", "customer"], call.id


def test_the_ci_subset_is_short_test_calls_covering_every_label() -> None:
    dataset = load_dataset("callcenter", DATASETS)
    ci = dataset.select(subset="ci")
    assert ci and all(c.split == "test" and "long" not in c.tags for c in ci)
    for role in ("customer", "agent"):
        seen = [getattr(c.labels, role).sentiment for c in ci]
        assert all(seen.count(label) >= 2 for label in LABELS), f"every {role} label, at least twice"


def test_the_committed_dailydialog_calls_are_the_converters_labeled_sample() -> None:
    """Real conversations in the checkout (CC BY-NC-SA 4.0, see its README): segment labels, the customer's
    and the call's derived from them, and a ci subset of short test calls with every label, for the gate."""
    dataset = load_dataset("dailydialog-service", DATASETS)
    assert Counter(c.split for c in dataset.calls) == {"dev": 54, "test": 54}
    assert all(c.id.startswith("dd-") and c.labels.segments for c in dataset.calls)
    for call in dataset.calls:
        lines = zip(call.transcript.splitlines(), call.labels.segments or [], strict=True)
        said = [label for line, label in lines if line.startswith("Customer:")]
        assert call.labels.customer == RoleLabels(sentiment=dailydialog.role_sentiment(said))
        # the pool's one rude agent meets a customer already negative: the call is the customer's everywhere
        assert call.labels.overall == call.labels.customer.sentiment
        assert (call.labels.agent, call.labels.resolution) == (None, None)
    ci = dataset.select(subset="ci")
    assert len(ci) == 6 and all(c.split == "test" and c.words <= 60 for c in ci)
    assert {label for c in ci for label in c.labels.segments or []} == set(LABELS)
    schema = json.loads((DATASETS / "call.schema.json").read_text(encoding="utf-8"))
    for path in sorted((DATASETS / "dailydialog-service" / "calls").glob("*.yaml")):
        jsonschema.validate(yaml.safe_load(path.read_text(encoding="utf-8")), schema)
    assert "CC BY-NC-SA 4.0" in (DATASETS / "dailydialog-service" / "README.md").read_text(encoding="utf-8")


def _write(tmp_path: Path, text: str, name: str = "x1.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """id: x1
split: dev
summary: s
transcript: |
  Agent: Hello, how can I help?
  Customer: Fine, thanks.
labels:
  customer: {sentiment: neutral, trend: stable}
  agent: {sentiment: neutral, trend: stable}
  overall: neutral
  resolution: resolved
"""


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("customer: {sentiment: neutral, trend: stable}", "customer: {sentiment: neutral, trend: improving}"),
            "needs start",
        ),
        (
            (
                "customer: {sentiment: neutral, trend: stable}",
                "customer: {sentiment: positive, start: positive, end: negative, trend: improving}",
            ),
            "is declining",
        ),
        (("resolution: resolved", "resolution: resolved\n  segments: [neutral]"), "1 labels for 2"),
        (("split: dev", "split: train"), "split"),
        (("summary: s", 'summary: s\nroles: "Bob=agent"'), "speakers not in the transcript"),
        (("summary: s", "summary: s\ntags: [funny]"), "tags"),
    ],
)
def test_invalid_calls_are_refused_with_the_reason(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    with pytest.raises(DatasetError, match=message):
        load_call(_write(tmp_path, GOOD.replace(*change)))


def test_the_id_must_match_the_file_name(tmp_path: Path) -> None:
    assert load_call(_write(tmp_path, GOOD)).id == "x1"
    with pytest.raises(DatasetError, match="does not match the file name"):
        load_call(_write(tmp_path, GOOD, name="x2.yaml"))


def test_a_subset_naming_a_missing_call_is_refused(tmp_path: Path) -> None:
    (tmp_path / "calls").mkdir()
    _write(tmp_path / "calls", GOOD)
    _write(tmp_path, "name: t\ndescription: d\nsubsets:\n  ci: [x1, x9]\n", name="dataset.yaml")
    with pytest.raises(DatasetError, match="unknown calls: x9"):
        load_dataset(str(tmp_path), DATASETS)


def test_a_source_may_label_only_some_targets(tmp_path: Path) -> None:
    """Converted public datasets label what their annotators labeled; the rest stays None (not scored)."""
    body = GOOD.split("labels:")[0]
    only_segments = load_call(_write(tmp_path, body + "labels:\n  segments: [neutral, positive]\n"))
    assert only_segments.labels.customer is None and only_segments.labels.resolution is None
    only_customer = load_call(_write(tmp_path, body + "labels:\n  customer: {sentiment: negative}\n"))
    assert only_customer.labels.customer is not None and only_customer.labels.customer.trend is None
    with pytest.raises(DatasetError, match="at least one label"):
        load_call(_write(tmp_path, body + "labels: {}\n"))
    with pytest.raises(DatasetError, match="is improving, not None"):
        load_call(
            _write(tmp_path, body + "labels:\n  customer: {sentiment: positive, start: neutral, end: positive}\n")
        )
