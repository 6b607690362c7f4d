"""The eval runner on a tiny dataset with the fake LLM: cases, metrics, reports, the gate, calibration."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from llm_sentiment.cli import CliParts, main
from llm_sentiment.errors import BelowThresholdError, ConfigError, DatasetError, EvalFileError, InvalidAnswerError
from llm_sentiment.evals.dataset import load_dataset
from llm_sentiment.evals.evaluate import EvalRequest, evaluate
from llm_sentiment.evals.results import load_results
from llm_sentiment.llm.testing import FakeLLM, SchemaLLM
from llm_sentiment.settings import Settings
from tests.conftest import FIXTURES, REPO

TINY = FIXTURES / "evals" / "tiny"

# Per call, by target: customer label and evidence (with any re-asks), agent ..., overall ...
# The pipeline asks every label first, then every evidence question: ``scripted`` queues them so.
SCRIPT: dict[str, list[tuple[dict[str, Any], dict[str, float] | None]]] = {
    "t1-calm": [
        ({"label": "positive", "confidence": 0.6}, {"positive": 0.6, "neutral": 0.35, "negative": 0.05}),
        ({"quotes": ["I need to change my address, please."], "reasoning": "Calm request."}, None),
        ({"label": "neutral", "confidence": 0.8}, {"positive": 0.1, "neutral": 0.85, "negative": 0.05}),
        ({"quotes": ["Done. It is updated."], "reasoning": "Procedural."}, None),
        ({"label": "neutral", "confidence": 0.8}, {"positive": 0.1, "neutral": 0.85, "negative": 0.05}),
        ({"quotes": ["Okay, thanks."], "reasoning": "Routine."}, None),
    ],
    "t2-happy": [
        ({"label": "positive", "confidence": 0.9}, {"positive": 0.9, "neutral": 0.08, "negative": 0.02}),
        ({"quotes": ["Oh, that's wonderful news.", "I was never here."], "reasoning": "Delighted."}, None),
        ({"quotes": ["Oh, that's wonderful news."], "reasoning": "Delighted."}, None),
        ({"label": "positive", "confidence": 0.9}, {"positive": 0.9, "neutral": 0.08, "negative": 0.02}),
        ({"quotes": ["I'm so sorry!"], "reasoning": "Warm."}, None),
        ({"label": "positive", "confidence": 0.9}, {"positive": 0.9, "neutral": 0.08, "negative": 0.02}),
        ({"quotes": ["Thank you so much!"], "reasoning": "Happy ending."}, None),
    ],
    "t3-angry": [
        ({"label": "negative", "confidence": 0.9}, {"positive": 0.02, "neutral": 0.08, "negative": 0.9}),
        ({"quotes": ["This is a disgrace."], "reasoning": "Furious <script>alert(1)</script>."}, None),
        ({"label": "neutral", "confidence": 0.6}, {"positive": 0.05, "neutral": 0.65, "negative": 0.3}),
        ({"quotes": ["Not my problem."], "reasoning": "Curt."}, None),
        ({"label": "negative", "confidence": 0.9}, {"positive": 0.02, "neutral": 0.08, "negative": 0.9}),
        ({"quotes": ["I'm leaving."], "reasoning": "Lost customer."}, None),
    ],
}


def scripted(*call_ids: str, repeat: int = 1) -> FakeLLM:
    llm = FakeLLM(model="local/qwen2.5-coder-1.5b")
    for _ in range(repeat):
        for call_id in call_ids:
            labels = [(a, p) for a, p in SCRIPT[call_id] if p is not None]
            evidence = [(a, p) for a, p in SCRIPT[call_id] if p is None]
            for answer, probs in labels + evidence:
                llm.enqueue(answer, label_probs=probs)
    return llm


def polarity(text: str) -> float:
    """A stand-in lexicon: enough words to exercise the baseline row."""
    lowered = text.lower()
    return (
        0.6
        if "wonderful" in lowered or "thank" in lowered
        else -0.6
        if "furious" in lowered or "disgrace" in lowered
        else 0.0
    )


def request(tmp_path: Path, **changes: Any) -> EvalRequest:
    """v1 (no calibration: the default bands) and the role and call questions only (``SCRIPT``);
    ``parts=...`` adds segments and the summary."""
    return EvalRequest(dataset=str(TINY), output=tmp_path / "out", **{"prompts": ["v1"], "parts": (), **changes})


def test_runs_the_pipeline_and_scores_every_call(tmp_path: Path, settings: Settings) -> None:
    llm = scripted("t1-calm", "t2-happy", "t3-angry")
    outcome = evaluate(request(tmp_path), settings, llm=llm, polarity=polarity)
    assert llm.pending == 0
    results = outcome.results
    assert [c.id for c in results.configs] == ["baseline:vader", "v1@local/qwen2.5-coder-1.5b"]
    assert (results.dataset.calls, results.dataset.dev, results.dataset.test) == (3, 1, 2)
    row = results.configs[1]
    assert set(row.slices) == {"all", "dev", "test"}
    everything = row.slices["all"]
    # customer: t1 neutral->positive (miss), t2 positive, t3 negative
    assert everything.customer.accuracy == pytest.approx(2 / 3)
    assert everything.customer.confusion.matrix == [[1, 0, 0], [1, 0, 0], [0, 0, 1]]
    assert everything.agent.accuracy == pytest.approx(2 / 3)  # t3's rude agent was called neutral
    assert everything.overall.accuracy == 1.0
    assert everything.customer.score_mae == pytest.approx((0.55 + 0.12 + 0.12) / 3, abs=1e-3)
    # one quote was invented, re-asked once, and the second answer grounded
    assert everything.quotes is not None and everything.quotes.grounding_rate == 1.0
    assert everything.answers is not None and everything.answers.questions == 18
    assert everything.answers.reasks_per_answer == pytest.approx(1 / 18)
    assert everything.answers.schema_valid_rate == 1.0
    assert everything.usage is not None and everything.usage.cost_usd is None  # the fake model has no price
    assert everything.latency is not None and everything.latency.measured_questions == 18
    assert row.tags["rude_agent"].agent_accuracy == 0.0
    assert row.bands is not None and row.bands["customer"].positive == settings.positive_threshold
    # the baseline row scores segments (the LLM pipeline has no per-segment labels yet)
    lexicon = results.configs[0].slices["all"]
    assert lexicon.segments is not None and lexicon.segments.n == 4
    assert lexicon.quotes is None and lexicon.answers is None
    # transcripts are written where a user can re-run them
    assert (tmp_path / "out" / "transcripts" / "t1-calm.txt").read_text().startswith("[00:00] Agent:")


def test_writes_machine_readable_results_and_reports(tmp_path: Path, settings: Settings) -> None:
    evaluate(request(tmp_path), settings, llm=scripted("t1-calm", "t2-happy", "t3-angry"), polarity=polarity)
    out = tmp_path / "out"
    results = load_results(out / "results.json")
    assert results.schema_version == 1 and results.explain
    raw = json.loads((out / "results.json").read_text())
    assert set(raw["configs"][1]["slices"]["all"]) >= {
        "customer",
        "agent",
        "overall",
        "quotes",
        "answers",
        "latency",
        "usage",
    }
    cases = [json.loads(line) for line in (out / "cases.jsonl").read_text().splitlines()]
    assert len(cases) == 6 and {c["config"] for c in cases} == {"baseline:vader", "v1@local/qwen2.5-coder-1.5b"}
    markdown = (out / "report.md").read_text()
    assert (
        "## Test split" in markdown and "## Dev split" in markdown and "| `v1@local/qwen2.5-coder-1.5b` |" in markdown
    )
    page = (out / "report.html").read_text()
    assert "<svg" in page and "Per case (disagreements first)" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert page.index("t1-calm") < page.index("t2-happy")  # t1's customer miss comes before the agreements


def test_labels_only_asks_three_questions_per_call(tmp_path: Path, settings: Settings) -> None:
    llm = FakeLLM(model="local/qwen2.5-coder-1.5b")
    for _ in range(3):
        llm.enqueue(
            {"label": "neutral", "confidence": 0.7}, label_probs={"positive": 0.1, "neutral": 0.8, "negative": 0.1}
        )
    outcome = evaluate(request(tmp_path, explain=False, limit=1, lexicon=False), settings, llm=llm)
    assert llm.pending == 0 and len(llm.requests) == 3
    metrics = outcome.results.configs[0].slices["all"]
    assert metrics.quotes is None and metrics.customer.accuracy == 1.0
    assert "labels only" in (tmp_path / "out" / "report.md").read_text()


def test_a_failed_call_is_recorded_and_the_run_goes_on(tmp_path: Path, settings: Settings) -> None:
    llm = FakeLLM(model="local/qwen2.5-coder-1.5b")
    llm.enqueue(InvalidAnswerError("customer_sentiment: no valid answer in 3 tries", model="local/qwen2.5-coder-1.5b"))
    for answer, probs in sorted(SCRIPT["t3-angry"], key=lambda item: item[1] is None):
        llm.enqueue(answer, label_probs=probs)
    outcome = evaluate(request(tmp_path, subset="smoke", lexicon=False), settings, llm=llm)
    metrics = outcome.results.configs[0].slices["all"]
    assert (metrics.calls, metrics.errors) == (2, 1)
    assert metrics.customer.n == 1
    assert metrics.answers is not None and metrics.answers.schema_valid_rate == pytest.approx(6 / 7)
    failed = next(c for c in outcome.cases if c.error)
    assert failed.call_id == "t1-calm" and failed.error is not None and failed.error.code == "llm.invalid_answer"


def test_the_gate_passes_and_fails_on_thresholds(tmp_path: Path, settings: Settings) -> None:
    thresholds = tmp_path / "thresholds.yaml"
    thresholds.write_text("tiny/all:\n  overall.macro_f1: 0.9\n  quotes.grounding_rate: 1.0\n")
    outcome = evaluate(
        request(tmp_path, check=True, thresholds=thresholds, lexicon=False),
        settings,
        llm=scripted("t1-calm", "t2-happy", "t3-angry"),
    )
    assert outcome.failures == []
    thresholds.write_text("tiny/all:\n  customer.macro_f1: 0.9\n  agent.kappa: 0.1\n")
    with pytest.raises(BelowThresholdError) as failed:
        evaluate(
            request(tmp_path, check=True, thresholds=thresholds, lexicon=False),
            settings,
            llm=scripted("t1-calm", "t2-happy", "t3-angry"),
        )
    assert failed.value.exit_code == 72 and "customer.macro_f1" in failed.value.message
    assert "**FAIL**" in (tmp_path / "out" / "report.md").read_text()  # reports are written before the exit


def test_bad_thresholds_fail_before_any_model_call(tmp_path: Path, settings: Settings) -> None:
    thresholds = tmp_path / "thresholds.yaml"
    llm = FakeLLM()
    for body, message in [
        ("tiny/all:\n  customer.f2: 0.5\n", "unknown metric"),
        ("tiny/all:\n  customer: 0.5\n", "a group"),
        ("tiny/all: [1, 2]\n", "thresholds"),
        ("all:\n  customer.macro_f1: 0.5\n", "no section 'tiny/all'"),
    ]:
        thresholds.write_text(body)
        with pytest.raises(EvalFileError, match=message):
            evaluate(request(tmp_path, check=True, thresholds=thresholds, lexicon=False), settings, llm=llm)
    assert llm.requests == []


def test_unknown_models_prompts_and_subsets_fail_fast(tmp_path: Path, settings: Settings) -> None:
    llm = FakeLLM()
    with pytest.raises(ConfigError, match="unknown model"):
        evaluate(request(tmp_path, models=["nope"]), settings, llm=llm)
    with pytest.raises(DatasetError, match="no subset"):
        evaluate(request(tmp_path, subset="nope"), settings, llm=llm)
    with pytest.raises(DatasetError, match="no dataset"):
        evaluate(EvalRequest(dataset="nope", output=tmp_path), settings, llm=llm)
    assert llm.requests == []


def test_calibration_is_fitted_on_dev_and_written_for_the_prompt_version(tmp_path: Path, settings: Settings) -> None:
    outcome = evaluate(
        request(tmp_path, calibrate=True, lexicon=False), settings, llm=scripted("t1-calm", "t2-happy", "t3-angry")
    )
    fitted = outcome.results.configs[0].calibration
    assert fitted is not None and fitted["customer"].dev_calls == 1  # only t1 is in dev
    written = tmp_path / "out" / "calibration" / "v1" / "calibration.yaml"
    assert written in outcome.written
    from llm_sentiment.ask.prompts import PromptSet

    prompts = tmp_path / "prompts"
    (prompts / "v9").mkdir(parents=True)
    (prompts / "v9" / "version.yaml").write_text("extends: v1\n")
    (prompts / "v9" / "calibration.yaml").write_text(written.read_text())
    for source in settings.prompts_dir.joinpath("v1").iterdir():
        (prompts / "v1").mkdir(exist_ok=True)
        (prompts / "v1" / source.name).write_text(source.read_text())
    loaded = PromptSet(prompts, "v9").calibration
    assert loaded is not None
    band = loaded.thresholds("local/qwen2.5-coder-1.5b", "customer")
    assert band is not None and band.positive > 0.55  # t1's 0.55 score must fall in the neutral band
    assert loaded.head("local/qwen2.5-coder-1.5b", "customer") is None, "one dev call is too few for a label head"
    assert PromptSet(prompts, "v1").calibration is None


def test_report_shows_changes_against_a_baseline_results_file(tmp_path: Path, settings: Settings) -> None:
    first = tmp_path / "first"
    evaluate(
        EvalRequest(dataset=str(TINY), output=first, lexicon=False, prompts=["v1"], parts=()),
        settings,
        llm=scripted("t1-calm", "t2-happy", "t3-angry"),
    )
    evaluate(
        request(tmp_path, baseline=first / "results.json", lexicon=False),
        settings,
        llm=scripted("t1-calm", "t2-happy", "t3-angry"),
    )
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert "## Changes against the baseline results" in markdown and "(+0.00)" in markdown
    (tmp_path / "broken.json").write_text("{}")
    with pytest.raises(EvalFileError, match=r"not an eval results\.json"):
        evaluate(request(tmp_path, baseline=tmp_path / "broken.json"), settings, llm=FakeLLM())


def test_cli_validates_a_dataset_without_a_model(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["eval", "--dataset", str(TINY), "--limit", "0"])
    assert result.exit_code == 0, result.output
    assert "tiny: 3 calls valid (1 dev, 2 test)" in result.output
    bad = CliRunner().invoke(main, ["eval", "--dataset", "nope", "--limit", "0"])
    assert bad.exit_code == 70 and "input.dataset" in bad.output


def test_dataset_selection_by_split_subset_and_limit(settings: Settings) -> None:
    dataset = load_dataset(str(TINY), settings.evals_dir / "datasets")
    assert [c.id for c in dataset.select(split="test")] == ["t2-happy", "t3-angry"]
    assert [c.id for c in dataset.select(subset="smoke", split="test")] == ["t3-angry"]
    assert [c.id for c in dataset.select(limit=1)] == ["t1-calm"]


def test_full_pipeline_scores_segments_trends_and_resolution(tmp_path: Path, settings: Settings) -> None:
    from llm_sentiment.llm.testing import schema_answer

    llm = FakeLLM(model="local/qwen2.5-coder-1.5b", respond=schema_answer)
    outcome = evaluate(request(tmp_path, parts=("segments", "summary"), lexicon=False), settings, llm=llm)
    calm = next(c for c in outcome.cases if c.call_id == "t1-calm")
    assert calm.gold_segments == ["neutral"] * 4 and calm.predicted_segments is not None
    assert len(calm.predicted_segments) == 4, "one label per transcript segment"
    assert calm.predicted_resolution is not None
    assert calm.targets["customer"].predicted_trend is not None
    everything = outcome.results.configs[0].slices["all"]
    assert everything.segments is not None and everything.segments.n == 4
    assert everything.resolution is not None and everything.resolution.n == 3
    asked = {q.question_id for c in outcome.cases for q in c.questions}
    assert {"segment_sentiment", "summary", "resolution", "recommendations"} <= asked


def test_a_status_chosen_by_the_resolution_probe_is_reported_among_the_probes(
    tmp_path: Path, settings: Settings
) -> None:
    from llm_sentiment.llm.testing import schema_answer

    llm = FakeLLM(model="local/qwen2.5-coder-1.5b", respond=schema_answer)
    partial = {"resolved": 0.1, "partial": 0.8, "unresolved": 0.1}
    for _ in range(3):  # per call: the customer probe, then the status probe at the same slot
        llm.enqueue_slots([{"positive": 0.1, "neutral": 0.8, "negative": 0.1}])
        llm.enqueue_slots([partial])
    outcome = evaluate(request(tmp_path, prompts=["v5"], parts=("summary",), lexicon=False), settings, llm=llm)
    assert outcome.results.configs[0].probes == ["customer", "resolution"]
    assert {c.predicted_resolution for c in outcome.cases} == {"partial"}, "the probe's status stands"
    assert all(c.found_resolution == "partial" and c.resolution_probabilities == partial for c in outcome.cases)
    assert (
        "labeled by its probe of the model's hidden state: customer, resolution"
        in (tmp_path / "out" / "report.md").read_text()
    )


def test_audio_calls_are_spoken_transcribed_and_scored_apart(tmp_path: Path, audio_settings: Settings) -> None:
    from llm_sentiment.llm.testing import schema_answer

    llm = FakeLLM(model="local/qwen2.5-coder-1.5b", respond=schema_answer)
    outcome = evaluate(request(tmp_path, limit=1, audio=True, lexicon=False), audio_settings, llm=llm)
    assert (tmp_path / "out" / "audio" / "t1-calm.stereo.wav").is_file(), "rendered in the run"
    text, spoken = sorted(outcome.cases, key=lambda c: c.source == "audio")
    assert (text.source, spoken.source) == ("text", "audio") and spoken.error is None
    assert spoken.targets["customer"].predicted is not None
    row = outcome.results.configs[0]
    assert row.slices["all"].calls == 1 and row.slices["audio"].calls == 1, "audio cases are reported apart"
    transcribed = " ".join(r.messages[0].content for r in llm.requests if r.messages)
    assert "address" in transcribed.lower()


def test_labels_only_with_segments_asks_the_labels_and_the_segment_batches_only(
    tmp_path: Path, settings: Settings
) -> None:
    llm = SchemaLLM("neutral")
    outcome = evaluate(request(tmp_path, explain=False, parts=("segments",), lexicon=False), settings, llm=llm)
    asked = [q.question_id for c in outcome.cases for q in c.questions]
    assert set(asked) == {"customer_sentiment", "agent_sentiment", "overall_sentiment", "segment_sentiment"}
    assert asked.count("segment_sentiment") == 3, "one batch per short call; no evidence, summary or resolution"
    assert outcome.results.parts == ["segments"] and not outcome.results.explain
    everything = outcome.results.configs[0].slices["all"]
    assert everything.segments is not None and everything.segments.n == 4 and everything.quotes is None
    assert everything.resolution is None


def _gate(tmp_path: Path, *extra: str) -> Any:
    """The gate's dailydialog-service command from the Makefile, on the committed dataset, with the
    schema-answering double in place of the model (handed to the command as the CLI's wiring)."""
    args = ["eval", "--dataset", "dailydialog-service", "--subset", "ci", "--labels-only", "--segments", "--check"]
    return CliRunner().invoke(
        main,
        [*args, "--output", str(tmp_path / "gate"), *extra],
        env={"LLM_SENTIMENT_EVALS_DIR": str(REPO / "evals"), "LLM_SENTIMENT_CACHE_PATH": str(tmp_path / "cache")},
        obj=CliParts(build_llm=lambda settings, use_cache=True: (SchemaLLM("neutral"), None)),
    )


def test_a_call_labelled_per_segment_alone_is_asked_no_role_question(tmp_path: Path) -> None:
    """The ci dialogues with only their segment labels (as the dataset was before its derived labels): their
    role questions would score nothing, so they are not asked."""
    source = REPO / "evals" / "datasets" / "dailydialog-service"
    ci = yaml.safe_load((source / "dataset.yaml").read_text(encoding="utf-8"))["subsets"]["ci"]
    root = tmp_path / "segments-only"
    (root / "calls").mkdir(parents=True)
    (root / "dataset.yaml").write_text(yaml.safe_dump({"name": "segments-only", "description": "d"}))
    for call_id in ci:
        call = yaml.safe_load((source / "calls" / f"{call_id}.yaml").read_text(encoding="utf-8"))
        call["labels"] = {"segments": call["labels"]["segments"]}
        (root / "calls" / f"{call_id}.yaml").write_text(yaml.safe_dump(call))
    result = CliRunner().invoke(
        main,
        ["eval", "--dataset", str(root), "--labels-only", "--segments", "--output", str(tmp_path / "out")],
        env={"LLM_SENTIMENT_EVALS_DIR": str(REPO / "evals"), "LLM_SENTIMENT_CACHE_PATH": str(tmp_path / "cache")},
        obj=CliParts(build_llm=lambda settings, use_cache=True: (SchemaLLM("neutral"), None)),
    )
    assert result.exit_code == 0, result.output
    asked = {q["question_id"] for line in (tmp_path / "out" / "cases.jsonl").read_text().splitlines()
             for q in json.loads(line)["questions"]}  # fmt: skip
    assert asked == {"segment_sentiment"}


def test_the_gate_scores_the_real_ci_dialogues_per_segment_against_their_own_section(tmp_path: Path) -> None:
    result = _gate(tmp_path)
    assert result.exit_code == 0, result.output
    assert "gate: PASS" in result.output and "segments=" in result.output
    results = load_results(tmp_path / "gate" / "results.json")
    assert (results.dataset.name, results.dataset.subset, results.dataset.calls) == ("dailydialog-service", "ci", 6)
    row = results.config("v5@local/qwen2.5-coder-1.5b")
    assert row is not None
    metrics = row.slices["all"]
    ci = load_dataset("dailydialog-service", REPO / "evals" / "datasets").select(subset="ci")
    assert metrics.segments is not None and metrics.segments.n == sum(len(c.labels.segments or []) for c in ci)
    assert metrics.customer.n == 6, "the customer's label derived from the utterances' is measured"
    assert metrics.agent.n == 0 and metrics.agent.macro_f1 is None, "unlabeled: in results.json, unmeasured"
    markdown = (tmp_path / "gate" / "report.md").read_text()
    assert "## Gate" in markdown and "segment macro-F1" in markdown and "cust. macro-F1" in markdown
    assert "segments:" in markdown and "agent:" not in markdown

    strict = tmp_path / "strict.yaml"
    strict.write_text("dailydialog-service/ci:\n  segments.macro_f1: 0.99\n")
    failed = _gate(tmp_path, "--thresholds", str(strict))
    assert failed.exit_code == 72 and "segments.macro_f1" in failed.output
    plain = tmp_path / "plain.yaml"
    plain.write_text("ci:\n  segments.macro_f1: 0.1\n")
    missing = _gate(tmp_path, "--thresholds", str(plain))
    assert missing.exit_code == 71 and "no section 'dailydialog-service/ci'" in missing.output
