"""The CLI's contract: specific exit codes and messages, nothing half-written, prompts rendered exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from llm_sentiment.cli import CliParts, main
from tests.conftest import FIXTURES


def _run(*args: str, env: dict[str, str] | None = None, obj: CliParts | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=env, obj=obj, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("content", "code", "exit_code"),
    [
        (b"", "input.empty", 11),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "input.unknown_format", 12),
        (b"Agent: \xff\xfe broken\n", "input.encoding", 13),
        (b"Agent: hello\nAgent: hello again\n", "input.one_role", 15),
        (b'{"segments": [{"text": "no speaker"}]}', "input.invalid_transcript", 14),
    ],
)
def test_bad_input_exit_codes_and_nothing_written(tmp_path: Path, content: bytes, code: str, exit_code: int) -> None:
    src = tmp_path / "call.txt"
    src.write_bytes(content)
    out = tmp_path / "out.json"
    status, stdout, stderr = _run("analyze", str(src), "-o", str(out))
    assert status == exit_code
    assert f"error [{code}]" in stderr
    assert stdout == "" and not out.exists()
    assert list(tmp_path.iterdir()) == [src], "no temporary or partial files left behind"


def test_missing_file_and_bad_roles(tmp_path: Path) -> None:
    assert _run("analyze", str(tmp_path / "none.txt"))[0] == 10
    status, _, stderr = _run("analyze", str(FIXTURES / "negative.txt"), "--roles", "Rep=boss")
    assert status == 16 and "--roles" in stderr


def test_missing_model_names_the_fix(tmp_path: Path) -> None:
    config = tmp_path / "models.yaml"
    config.write_text(
        "model_list:\n  - model_name: local/mine\n    litellm_params:\n"
        f"      model: local/mine\n      model_path: {tmp_path / 'absent.gguf'}\n"
    )
    env = {
        "LLM_SENTIMENT_ROUTER_CONFIG": str(config),
        "LLM_SENTIMENT_MODEL": "local/mine",
        "LLM_SENTIMENT_CACHE_PATH": str(tmp_path / "cache"),
    }
    status, stdout, stderr = _run("analyze", str(FIXTURES / "negative.txt"), env=env)
    assert status == 20 and "error [model.missing]" in stderr and "model_path" in stderr and stdout == ""


def test_unknown_embedded_model() -> None:
    status, _, stderr = _run("models", "install", "gpt-17")
    assert status == 20 and "Known embedded models" in stderr


def test_bad_environment_setting() -> None:
    status, _, stderr = _run("prompts", "list", env={"LLM_SENTIMENT_THREADS": "zero"})
    assert status == 22 and "LLM_SENTIMENT_" in stderr


def test_prompts_render_prints_the_exact_messages() -> None:
    status, stdout, _ = _run("prompts", "render", "customer_sentiment", str(FIXTURES / "injection.txt"), "--json")
    assert status == 0
    messages = json.loads(stdout)
    assert [m["role"] for m in messages] == ["system", "user"]
    shown = "\n".join(m["content"] for m in messages)
    assert "Ignore all previous instructions" in shown, "the customer's own lines, as data"
    opening = "<lines>" if "<lines>" in shown else "<transcript>"
    assert shown.index(opening) < shown.index("Ignore all previous")
    assert "CUSTOMER" in messages[1]["content"]


def test_prompts_render_evidence_and_custom() -> None:
    status, stdout, _ = _run(
        "prompts", "render", "agent_evidence", str(FIXTURES / "negative.txt"), "--label", "negative"
    )
    assert status == 0 and "judged negative" in stdout and "----- system -----" in stdout
    status, stdout, _ = _run(
        "prompts", "render", "custom", str(FIXTURES / "negative.txt"), "--question-text", "Was it resolved?"
    )
    assert status == 0 and "Question: Was it resolved?" in stdout


def test_prompts_list() -> None:
    status, stdout, _ = _run("prompts", "list")
    assert status == 0 and "customer_sentiment" in stdout and "LabelAnswer" in stdout


def test_questions_file_errors(tmp_path: Path) -> None:
    bad = tmp_path / "q.yaml"
    bad.write_text("questions:\n  - context: no question here\n")
    status, _, stderr = _run("analyze", str(FIXTURES / "negative.txt"), "--questions", str(bad))
    assert status == 17 and "question" in stderr


@pytest.fixture
def scripted_llm() -> CliParts:
    """The CLI's own wiring, with the schema-answering double in place of the model."""
    from llm_sentiment.llm.testing import SchemaLLM

    return CliParts(build_llm=lambda settings, use_cache=True: (SchemaLLM("negative"), None))


LABELED = FIXTURES / "labeled" / "internet_outage.json"


def test_views_and_plot(tmp_path: Path, scripted_llm: CliParts) -> None:
    status, stdout, _ = _run("analyze", str(LABELED), "--view", "assemblyai", obj=scripted_llm)
    assert status == 0
    body = json.loads(stdout)
    assert body["audio_url"] == str(LABELED) and body["sentiment_analysis_results"][0]["sentiment"] == "NEGATIVE"
    status, stdout, _ = _run("analyze", str(LABELED), "--view", "deepgram", obj=scripted_llm)
    assert status == 0 and json.loads(stdout)["results"]["sentiments"]["average"]["sentiment"] == "negative"
    out, plot = tmp_path / "insights.json", tmp_path / "timeline.png"
    status, _, stderr = _run(
        "analyze", str(LABELED), "--view", "insights", "--type", "sentiment", "--speaker", "Customer",
        "--granularity", "minute", "-o", str(out), "--plot", str(plot), obj=scripted_llm,
    )  # fmt: skip
    assert status == 0 and f"wrote {plot}" in stderr
    insights = json.loads(out.read_text())
    assert set(insights) == {"job_id", "pipeline", "sentiment"} and insights["sentiment"]["granularity"] == "minute"
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    status, stdout, _ = _run("analyze", str(LABELED), "--format", "text", obj=scripted_llm)
    assert status == 0 and "Summary:" in stdout and "Segments (17 scored; times measured)" in stdout


def test_the_insights_view_keeps_the_apis_bands_whatever_ours_are(scripted_llm: CliParts) -> None:
    """Native bands moved out to ±0.9 make every line neutral in the native view; the insights view still
    labels the same -0.75 scores by the API's own bands."""
    env = {"LLM_SENTIMENT_POSITIVE_THRESHOLD": "0.9", "LLM_SENTIMENT_NEGATIVE_THRESHOLD": "-0.9"}
    status, stdout, _ = _run("analyze", str(LABELED), "--no-summary", env=env, obj=scripted_llm)
    native = json.loads(stdout)
    assert status == 0 and {s["label"] for s in native["segments"]} == {"neutral"}
    assert native["overall"]["label"] == "neutral" and native["overall"]["score"] == -0.75
    status, stdout, _ = _run(
        "analyze", str(LABELED), "--no-summary", "--view", "insights", "--type", "sentiment", env=env, obj=scripted_llm
    )
    sentiment = json.loads(stdout)["sentiment"]
    assert status == 0 and sentiment["overall_label"] == "negative"
    assert {(r["label"], r["score"]) for r in sentiment["segments"]} == {("negative", -0.75)}


@pytest.mark.parametrize(
    "args",
    [
        ["--format", "text", "--view", "deepgram"],
        ["--speaker", "Agent"],
        ["--view", "assemblyai", "--no-segments"],
        ["--no-segments", "--plot", "{tmp}/timeline.png"],
        ["--view", "insights", "--granularity", "hour"],
    ],
)
def test_view_options_that_do_not_fit_are_usage_errors(tmp_path: Path, args: list[str]) -> None:
    status, stdout, stderr = _run("analyze", str(LABELED), *(a.format(tmp=tmp_path) for a in args))
    assert status == 2 and stdout == "" and "Error" in stderr
    assert list(tmp_path.iterdir()) == [], "nothing written"


@pytest.mark.parametrize(
    ("flags", "parts"),
    [
        ({}, ("segments", "summary")),
        ({"segments": False}, ("summary",)),
        ({"summary": False}, ("segments",)),
        ({"labels_only": True}, ()),
        ({"labels_only": True, "segments": True}, ("segments",)),
        ({"labels_only": True, "segments": True, "summary": False}, ("segments",)),
        ({"labels_only": True, "summary": True}, ("summary",)),
    ],
)
def test_eval_flags_choose_the_analysis_parts(flags: dict[str, bool], parts: tuple[str, ...]) -> None:
    """--labels-only asks no optional part; --segments adds the segment scores back (the gate's
    dailydialog-service run: labels and segments, no evidence), --summary the summary and resolution."""
    from llm_sentiment.cli.eval import eval_parts

    given = {"labels_only": False, "segments": None, "summary": None, **flags}
    assert eval_parts(given["labels_only"], given["segments"], given["summary"]) == parts


def test_a_folder_of_calls_is_a_backlog_with_its_throughput(tmp_path: Path, scripted_llm: CliParts) -> None:
    calls = tmp_path / "calls"
    calls.mkdir()
    for name in ("negative.txt", "positive.txt"):
        (calls / name).write_bytes((FIXTURES / name).read_bytes())
    (calls / "broken.txt").write_bytes(b"Agent: only one role here\n")
    out = tmp_path / "out"
    status, stdout, stderr = _run("analyze", str(calls), "-o", str(out), "--no-summary", obj=scripted_llm)
    assert status == 0 and stdout == ""
    assert sorted(p.name for p in out.iterdir()) == ["negative.json", "positive.json"]
    assert json.loads((out / "negative.json").read_text())["roles"]["customer"]["label"] == "negative"
    assert "broken.txt: error [input.one_role]" in stderr, "a call that fails is reported, the run goes on"
    assert "analyzed 2 of 3 calls (1 failed)" in stderr and "calls/hour" in stderr
    assert _run("analyze", str(calls), obj=scripted_llm)[0] == 2, "a folder needs -o"
