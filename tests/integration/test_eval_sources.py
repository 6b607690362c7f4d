"""Public datasets as eval datasets: label rules, split, sample, checksums and conversion of tiny
inline fixtures (no network: downloads are replaced or read from a local git mirror)."""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from llm_sentiment.ask.answers import Label
from llm_sentiment.errors import DatasetError
from llm_sentiment.evals import sources
from llm_sentiment.evals.dataset import load_dataset
from llm_sentiment.evals.sources import base, dailydialog, stc3
from llm_sentiment.evals.sources.agreement import krippendorff_alpha
from llm_sentiment.evals.sources.base import RemoteFile, sample, sha256_of, split_of

# --- label rules


@pytest.mark.parametrize(
    ("scores", "label"),
    [
        ([2] * 10 + [-2] * 9, "positive"),  # a majority satisfied, however unhappy the rest
        ([1] * 9 + [0] * 10, "neutral"),  # 9 of 19 satisfied is no majority
        ([-1] * 10 + [2] * 9, "negative"),
        ([0] * 19, "neutral"),
        ([-2, -1, 0], "negative"),
    ],
)
def test_satisfaction_is_the_side_of_zero_a_majority_is_on(scores: list[int], label: str) -> None:
    assert stc3.satisfaction_label(scores) == label


@pytest.mark.parametrize(
    ("scores", "resolution"),
    [([2, 2, 1], "resolved"), ([1, 0, -1], "partial"), ([-2, -1, 0], "unresolved"), ([0, 0, 2], "partial")],
)
def test_accomplishment_gives_the_resolution(scores: list[int], resolution: str) -> None:
    assert stc3.resolution_label(scores) == resolution


def test_every_emotion_has_a_rule_and_surprise_has_no_label() -> None:
    labels = {e: dailydialog.emotion_label(e) for e in dailydialog.EMOTIONS}
    assert labels == {
        "no emotion": "neutral",
        "anger": "negative",
        "disgust": "negative",
        "fear": "negative",
        "happiness": "positive",
        "sadness": "negative",
        "surprise": None,
    }


@pytest.mark.parametrize(
    ("utterances", "agent"),
    [
        (["Good morning, can I help you?", "Yes, a room please."], 0),
        (["Hello.", "Hello, sir. What can I do for you?", "I'd like to cash a cheque."], 1),
        (["Hi, how may I assist you today?", "My card was eaten."], 0),
        (["Nice weather today.", "Yes, lovely.", "Can I help you with the bags?"], None),  # too late: not service
    ],
)
def test_the_agent_is_whoever_offers_help_first(utterances: list[str], agent: int | None) -> None:
    assert dailydialog.agent_index(utterances) == agent


def test_detokenize_rejoins_the_corpus_tokens() -> None:
    assert dailydialog.detokenize(" I ’ ll take it , thanks . ( $ 5 ) ") == "I’ll take it, thanks. ($5)"


# --- split and sample


def test_the_split_is_by_conversation_about_half_and_stable() -> None:
    ids = [str(i) for i in range(2000)]
    splits = [split_of("x", i) for i in ids]
    assert splits == [split_of("x", i) for i in ids]
    assert 0.45 < splits.count("dev") / len(ids) < 0.55
    assert [split_of("y", i) for i in ids] != splits  # each source its own split


def test_the_sample_is_per_stratum_deterministic_and_independent_of_order() -> None:
    items = [(f"id{i:03d}", "neg" if i % 10 == 0 else "pos") for i in range(200)]

    def take(pool: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return sample(pool, source="s", key=lambda x: x[0], stratum=lambda x: x[1], per_stratum=5)

    chosen = take(items)
    assert Counter(s for _, s in chosen) == {"neg": 5, "pos": 5}
    assert take(list(reversed(items))) == chosen
    assert chosen == sorted(chosen)
    assert len(take(items[:15])) == 7  # a small stratum gives all it has (2 negatives)


# --- agreement


def test_krippendorff_alpha_matches_krippendorffs_worked_example() -> None:
    """Reliability data with missing values from Krippendorff's "Computing Krippendorff's Alpha-Reliability"."""
    units = [[1, 1, 1], [2, 2, 3, 2], [3, 3, 3, 3], [3, 3, 3, 3], [2, 2, 2, 2], [1, 2, 3, 4]]
    units += [[4, 4, 4, 4], [1, 1, 2, 1], [2, 2, 2, 2], [5, 5, 5], [1, 1], [3]]
    assert krippendorff_alpha(units, "nominal") == pytest.approx(0.743, abs=5e-4)
    assert krippendorff_alpha(units, "interval") == pytest.approx(0.849, abs=5e-4)
    assert krippendorff_alpha([["a", "a"], ["a", "a"]]) is None  # nothing to disagree about


# --- checksums and the cache


def _remote(data: bytes, *, path: str = "data/file.bin", repos: tuple[str, ...] = ("o/r",)) -> RemoteFile:
    return RemoteFile(repos=repos, commit="0" * 40, path=path, sha256=sha256_of(data))


def test_a_checksum_mismatch_is_a_clear_error_and_nothing_is_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote = _remote(b"pinned bytes")
    monkeypatch.setattr(base, "_download", lambda r: (b"other bytes", r.url(r.repos[0])))
    with pytest.raises(
        DatasetError, match=r"sha256 mismatch: data/file\.bin from https://raw\.githubusercontent\.com/o/r/0+/"
    ) as err:
        base.fetch_file(remote, tmp_path)
    assert remote.sha256 in err.value.message and sha256_of(b"other bytes") in err.value.message
    assert not list(tmp_path.iterdir())


def test_a_verified_file_is_cached_and_reused_without_fetching(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    remote = _remote(b"pinned bytes")
    monkeypatch.setattr(base, "_download", lambda r: (b"pinned bytes", "somewhere"))
    cached = base.fetch_file(remote, tmp_path)
    assert cached.read_bytes() == b"pinned bytes"

    def refuse(r: RemoteFile) -> tuple[bytes, str]:
        raise AssertionError("fetched again")

    monkeypatch.setattr(base, "_download", refuse)
    assert base.fetch_file(remote, tmp_path) == cached
    cached.write_bytes(b"tampered")
    with pytest.raises(AssertionError, match="fetched again"):
        base.fetch_file(remote, tmp_path)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_files_are_read_from_a_local_git_mirror_at_the_pinned_commit(tmp_path: Path) -> None:
    work = tmp_path / "mirrors" / "fork+r" / "repo"
    work.mkdir(parents=True)

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(work), *args], capture_output=True, text=True, check=True).stdout

    git("init", "-q")
    (work / "data").mkdir()
    (work / "data" / "file.bin").write_bytes(b"v1")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "v1")
    commit = git("rev-parse", "HEAD").strip()
    (work / "data" / "file.bin").write_bytes(b"v2")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "v2")
    remote = RemoteFile(repos=("owner/r", "fork/r"), commit=commit, path="data/file.bin", sha256=sha256_of(b"v1"))
    assert base.fetch_file(remote, tmp_path / "cache", tmp_path / "mirrors").read_bytes() == b"v1"
    missing = RemoteFile(repos=("owner/r",), commit=commit, path="data/file.bin", sha256=remote.sha256)
    with pytest.raises(DatasetError, match="no mirror of owner/r"):
        base.fetch_file(missing, tmp_path / "cache2", tmp_path / "mirrors")


# --- conversion of tiny inline fixtures


def _stc3_dialogue(ident: str, s: list[int], a: list[int], turns: list[tuple[str, list[str]]]) -> dict[str, Any]:
    return {
        "id": ident,
        "turns": [{"sender": sender, "utterances": utterances} for sender, utterances in turns],
        "annotations": [{"quality": {"A": x, "S": y, "E": 0}, "nugget": []} for x, y in zip(a, s, strict=True)],
    }


STC3_FIXTURE = [
    _stc3_dialogue(
        "101",
        [2, 1, 1, 0, -1],
        [2, 2, 1, 0, 0],
        [
            ("customer", ["My bill is wrong.", ""]),
            ("helpdesk", ["Fixed it for you."]),
            ("customer", ["Great, thanks!"]),
        ],
    ),
    _stc3_dialogue(
        "102",
        [-2, -1, -1, 0, 1],
        [-1, -1, -2, 0, 0],
        [
            ("customer", ["Still  no signal\nat home."]),
            ("helpdesk", ["Please call 10000."]),
            ("customer", ["Useless."]),
        ],
    ),
    _stc3_dialogue(
        "103", [0, 0, 1, -1, 0], [0, 1, 0, 0, -1], [("customer", ["A question."]), ("helpdesk", ["An answer."])]
    ),
    _stc3_dialogue("104", [0] * 5, [0] * 5, [("customer", ["Nobody answers me."]), ("helpdesk", [""])]),
]


def _zip(path: Path, members: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return path


def test_stc3_converts_to_customer_and_resolution_labels(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "data.zip", {stc3.MEMBER: json.dumps(STC3_FIXTURE)})
    conversion = stc3.convert({"data.zip": archive})
    by_id = {c.id: c for c in conversion.calls}
    assert sorted(by_id) == ["stc3-101", "stc3-102", "stc3-103"]  # 104 has no agent line: left out
    happy, unhappy, plain = by_id["stc3-101"], by_id["stc3-102"], by_id["stc3-103"]
    assert happy.transcript == "Customer: My bill is wrong.\nAgent: Fixed it for you.\nCustomer: Great, thanks!\n"
    assert unhappy.transcript.startswith("Customer: Still no signal at home.\n")
    assert [c.labels.customer.sentiment if c.labels.customer else None for c in (happy, unhappy, plain)] == [
        "positive",
        "negative",
        "neutral",
    ]
    assert [c.labels.resolution for c in (happy, unhappy, plain)] == ["resolved", "unresolved", "partial"]
    assert all(
        c.labels.agent is None and c.labels.overall is None and c.labels.segments is None for c in by_id.values()
    )
    assert all(c.split == split_of(stc3.NAME, c.id.removeprefix("stc3-")) for c in by_id.values())
    assert "+2:1 +1:2 +0:1 -1:1 -2:0" in happy.summary
    assert "Krippendorff's alpha" in conversion.description
    assert stc3.SOURCE.pool is not None
    assert stc3.SOURCE.pool({"data.zip": archive}) == conversion.calls, "a pool this small is the whole sample"


def _dd_archives(tmp_path: Path) -> dict[str, Path]:
    parts = {
        "train": (
            [
                "Good morning . Can I help you ? __eou__ Yes , I ’ d like a room . __eou__ Here ’ s your key . __eou__",
                "Nice day . __eou__ Yes . __eou__",  # not a service encounter
                "What can I do for you ? __eou__ You lost my bag ! __eou__ Sorry , sir . __eou__",
            ],
            ["0 0 4", "0 0", "0 1 0"],
        ),
        "validation": (
            [
                "May I help you ? __eou__ Wow , it is free ? __eou__",  # surprise: left out
                "Good morning . Can I help you ? __eou__ Yes , I ’ d like a room . __eou__ Here ’ s your key . __eou__",
            ],
            ["0 6", "0 0 4"],  # the second repeats train's first dialogue: left out
        ),
        # four labels for three utterances: left out
        "test": (["Hello . __eou__ Hi , how can I help you ? __eou__ Just looking . __eou__"], ["0 0 0 0"]),
    }
    archives = {}
    for part, (texts, emotions) in parts.items():
        archives[f"{part}.zip"] = _zip(
            tmp_path / f"{part}.zip",
            {
                f"{part}/dialogues_{part}.txt": "\n".join(texts),
                f"{part}/dialogues_emotion_{part}.txt": "\n".join(emotions),
            },
        )
    return archives


def test_dailydialog_converts_service_encounters_to_segment_customer_and_call_labels(tmp_path: Path) -> None:
    conversion = dailydialog.convert(_dd_archives(tmp_path))
    by_id = {c.id: c for c in conversion.calls}
    assert sorted(by_id) == ["dd-train-00000", "dd-train-00002"]
    room, bag = by_id["dd-train-00000"], by_id["dd-train-00002"]
    assert (
        room.transcript
        == "Agent: Good morning. Can I help you?\nCustomer: Yes, I’d like a room.\nAgent: Here’s your key.\n"
    )
    assert room.labels.segments == ["neutral", "neutral", "positive"]
    assert bag.labels.segments == ["neutral", "negative", "neutral"]
    # the customer's label is their last emotional line; the agent's "happiness" handing over the key is
    # not the customer's, and the agent is never labeled
    assert [c.labels.customer.sentiment if c.labels.customer else None for c in (room, bag)] == ["neutral", "negative"]
    assert [c.labels.overall for c in (room, bag)] == ["neutral", "negative"]
    assert all(c.labels.agent is None and c.labels.resolution is None for c in conversion.calls)
    assert dailydialog.stratum(room) == "positive" and dailydialog.stratum(bag) == "negative"
    assert dailydialog.SOURCE.pool is not None
    assert dailydialog.SOURCE.pool(_dd_archives(tmp_path)) == conversion.calls, "a pool this small is the whole sample"


@pytest.mark.parametrize(
    ("labels", "sentiment"),
    [
        ([], "neutral"),
        (["neutral", "neutral"], "neutral"),
        (["negative", "neutral"], "negative"),  # a closing "OK." does not undo the complaint
        (["negative", "negative", "positive"], "positive"),  # ends pleased after a rough start
        (["positive", "negative", "neutral"], "negative"),
    ],
)
def test_a_roles_label_is_its_last_emotional_line(labels: list[Label], sentiment: str) -> None:
    assert dailydialog.role_sentiment(labels) == sentiment


@pytest.mark.parametrize(
    ("customer", "agent", "call"),
    [
        ("positive", ["no emotion", "happiness"], "positive"),
        ("positive", ["sadness"], "positive"),  # an apology is not rudeness
        ("positive", ["no emotion", "anger"], "neutral"),
        ("neutral", ["disgust"], "negative"),
        ("negative", ["anger"], "negative"),
    ],
)
def test_the_call_is_the_customers_end_one_step_worse_for_a_rude_agent(
    customer: Label, agent: list[str], call: str
) -> None:
    assert dailydialog.call_sentiment(customer, agent) == call


def test_fetch_writes_a_dataset_that_loads_with_a_ci_subset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = _zip(tmp_path / "data.zip", {stc3.MEMBER: json.dumps(STC3_FIXTURE)})
    pinned = RemoteFile(repos=("o/r",), commit="0" * 40, path="data.zip", sha256=sha256_of(archive.read_bytes()))
    source = base.Source(name="tiny", files=(pinned,), convert=stc3.convert)
    monkeypatch.setattr(base, "_download", lambda r: (archive.read_bytes(), "test"))
    home = tmp_path / "home"
    (home / "datasets" / "tiny" / "calls").mkdir(parents=True)
    (home / "datasets" / "tiny" / "calls" / "stale.yaml").write_text("id: stale\n")
    dataset = sources.fetch(source, home)
    assert dataset.root == home / "datasets" / "tiny"
    assert (home / "datasets" / "tiny" / "raw" / "data.zip").is_file()
    assert not (dataset.root / "calls" / "stale.yaml").exists()
    again = load_dataset(str(dataset.root), tmp_path)
    assert [c.id for c in again.calls] == ["stc3-101", "stc3-102", "stc3-103"]
    ci = again.select(subset="ci")
    assert ci and all(c.split == "test" for c in ci)
    assert sources.fetch(source, home, out=tmp_path / "elsewhere").root == tmp_path / "elsewhere" / "tiny"


def test_every_source_pins_a_commit_and_a_checksum() -> None:
    for source in sources.SOURCES.values():
        for remote in source.files:
            assert len(remote.commit) == 40 and len(remote.sha256) == 64
            assert remote.url(remote.repos[0]).startswith("https://raw.githubusercontent.com/")
