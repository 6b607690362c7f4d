"""The embedded llama.cpp model, for real: labels on clear cases, the injection case, grounding, timeouts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from llm_sentiment.analysis.analyzer import Analyzer
from llm_sentiment.analysis.questions import LABEL_ANSWER_START, PROBED_STATUSES, STATUS_PROBE_AT, question_messages
from llm_sentiment.ask.prompts import PromptSet
from llm_sentiment.llm.base import ChatMessage, LLMRequest, SlotRequest
from llm_sentiment.llm.cached import CachedLLM, ResponseCache
from llm_sentiment.llm.config import RouterConfig
from llm_sentiment.llm.fallback import FallbackLLM
from llm_sentiment.settings import Settings
from llm_sentiment.wiring import build_router, load_call
from tests.conftest import FIXTURES

pytestmark = pytest.mark.real_model

DEFAULT = "local/qwen2.5-coder-1.5b"


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("real-llm-cache")


@pytest.fixture(scope="session")
def real_settings(cache_dir: Path) -> Settings:
    return Settings(cache_path=cache_dir)


@pytest.fixture(scope="session")
def router(real_settings: Settings) -> FallbackLLM:
    return build_router(real_settings)


@pytest.fixture(scope="session")
def analyzer(router: FallbackLLM, real_settings: Settings) -> Any:
    cache = ResponseCache(real_settings.cache_dir)
    yield Analyzer(
        CachedLLM(router, cache), PromptSet(real_settings.prompts_dir, "v1"), real_settings.analysis_options()
    )
    cache.close()


@pytest.mark.parametrize(
    ("name", "customer"),
    [("negative.txt", "negative"), ("positive.txt", "positive"), ("injection.txt", "negative")],
)
def test_customer_sentiment_on_clear_calls(analyzer: Any, name: str, customer: str) -> None:
    call = load_call(FIXTURES / name)
    result = analyzer.analyze(call, parts=())
    sentiment = result.roles.customer
    assert sentiment.label == customer, f"{name}: {sentiment.probabilities} {sentiment.reasoning}"
    assert sentiment.confidence_source == "logprobs" and sentiment.probabilities is not None
    assert {p.model_used for p in result.provenance} == {DEFAULT}
    for role, part in (("customer", result.roles.customer), ("agent", result.roles.agent)):
        assert part.quotes, f"{role} has supporting quotes"
        for quote in part.quotes:
            segment = call.segments[quote.segment_id - 1]
            assert quote.role == role and quote.text in segment.text
    for quote in result.overall.quotes:
        assert quote.text in call.segments[quote.segment_id - 1].text


@pytest.mark.parametrize(("name", "customer"), [("negative.txt", "negative"), ("positive.txt", "positive")])
def test_the_shipped_customer_probe_reads_the_hidden_state_after_the_label_question(
    router: FallbackLLM, real_settings: Settings, name: str, customer: str
) -> None:
    prompts = PromptSet(real_settings.prompts_dir, real_settings.prompts_version)
    assert prompts.calibration is not None and prompts.calibration.probe(DEFAULT, "customer") is not None
    result = Analyzer(router, prompts, real_settings.analysis_options()).analyze(
        load_call(FIXTURES / name), parts=(), explain=False
    )
    sentiment = result.roles.customer
    assert (sentiment.label, sentiment.confidence_source) == (customer, "probe"), sentiment.probabilities
    assert sentiment.probabilities is not None, "the model's own label distribution is kept"
    asked = {p.question_id: p for p in result.provenance}
    assert asked["customer_sentiment_probe"].model_used == DEFAULT
    assert result.roles.agent.confidence_source == "logprobs", "no probe for the agent"


@pytest.mark.parametrize(("name", "settled"), [("negative.txt", False), ("positive.txt", True)])
def test_the_shipped_resolution_probe_reads_the_customer_label_slot(
    router: FallbackLLM, real_settings: Settings, name: str, settled: bool
) -> None:
    """What the analyzer reads when the summary is asked: the status probe at the customer's label slot."""
    prompts = PromptSet(real_settings.prompts_dir, real_settings.prompts_version)
    probe = prompts.calibration.probe(DEFAULT, "resolution") if prompts.calibration else None
    assert probe is not None
    messages = question_messages(prompts, load_call(FIXTURES / name), STATUS_PROBE_AT)
    request = SlotRequest(
        model=DEFAULT, messages=messages, lines=[LABEL_ANSWER_START], labels=list(PROBED_STATUSES), probe=probe
    )
    (read,) = router.score_slots(request).probabilities
    status = max(read, key=lambda k: read[k])
    assert (status == "resolved") == settled, read  # the lost parcel is not settled; the fixed heating is


def test_cli_rerun_is_served_from_cache(analyzer: Any, cache_dir: Path) -> None:
    analyzer.analyze(load_call(FIXTURES / "injection.txt"), parts=())  # ensures the cache holds this call
    env = {**os.environ, "LLM_SENTIMENT_CACHE_PATH": str(cache_dir)}
    cli = [sys.executable, "-m", "llm_sentiment", "analyze", str(FIXTURES / "injection.txt"), "--no-segments"]
    cli += ["--no-summary", "--prompts", "v1"]  # the prompts the analyzer fixture asked with
    done = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=120, check=True)
    result = json.loads(done.stdout)
    assert {"transcript", "roles", "overall", "answers", "provenance", "warnings", "role_mapping"} <= set(result)
    assert set(result["roles"]) == {"agent", "customer"}
    assert {"id", "speaker", "role", "start", "end", "text"} <= set(result["transcript"]["segments"][0])
    assert all(p["cache_hit"] for p in result["provenance"])
    assert result["roles"]["customer"]["label"] == "negative"
    text = subprocess.run([*cli, "--format", "text"], env=env, capture_output=True, text=True, timeout=120, check=True)
    assert "Customer NEGATIVE" in text.stdout


def test_small_model_is_selectable_by_name(router: FallbackLLM) -> None:
    request = LLMRequest(
        model="local/qwen2.5-coder-0.5b",
        messages=[ChatMessage(role="user", content='Reply with JSON {"ok": true}')],
        json_schema={"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]},
        max_tokens=12,
    )
    response = router.complete(request)
    assert response.model == "local/qwen2.5-coder-0.5b" and json.loads(response.content) == {"ok": True}


def test_local_timeout_falls_back_to_the_next_model(real_settings: Settings, tmp_path: Path) -> None:
    """The deadline interrupts llama.cpp mid-prompt; the fallback model answers and provenance says so."""
    config = RouterConfig.model_validate(
        {
            "model_list": [
                {"model_name": "slow", "litellm_params": {"model": DEFAULT, "timeout": 0.2}},
                {"model_name": "small", "litellm_params": {"model": "local/qwen2.5-coder-0.5b"}},
            ],
            "router_settings": {"num_retries": 0, "timeout": 60, "fallbacks": [{"slow": ["small"]}]},
        }
    )
    client = build_router(real_settings, config)
    long_text = " ".join(["The customer explained the billing problem again in detail."] * 60)
    response = client.complete(
        LLMRequest(model="slow", messages=[ChatMessage(role="user", content=long_text + " Say ok.")], max_tokens=4)
    )
    assert response.model == "small" and response.fallbacks_tried == ["slow"]
