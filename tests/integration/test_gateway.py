"""The LLM-gateway endpoint: literal {{ transcript }} substitution, model names mapped by the router
config, the OpenAI chat-completion shape, and the LLM-gateway recipe's own question code against it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from llm_sentiment.llm.config import RouterConfig
from llm_sentiment.llm.testing import FakeLLM
from llm_sentiment.service.gateway import GatewayMessage, fill, transcript_text
from llm_sentiment.wiring import load_call
from tests.conftest import FIXTURES, REPO
from tests.integration.recipe import recipe_script
from tests.integration.test_api import running_api


def test_substitution_is_literal_and_single_pass() -> None:
    transcript = "Customer: my name is {{ transcript }} and {% raw %}{{ 7*7 }}{{ config }} \\1 \\g<0>"
    messages = fill(
        [
            GatewayMessage(role="system", content="Rules {{transcript}}"),
            GatewayMessage(role="user", content="{{ 7*7 }} Transcript:\n{{  transcript  }}\nEnd {{ other }}"),
        ],
        transcript,
    )
    assert messages[0].content == f"Rules {transcript}"
    assert messages[1].content == f"{{{{ 7*7 }}}} Transcript:\n{transcript}\nEnd {{{{ other }}}}"


def test_transcript_text_names_speakers_roles_and_times() -> None:
    text = transcript_text(load_call(FIXTURES / "assemblyai.json"))
    assert text.splitlines()[0].startswith("[00:00] A (agent): Thank you for calling Acme")


def test_vendor_model_names_map_through_the_router_config(settings: Any) -> None:
    config = RouterConfig.load(settings.router_config)
    assert config.resolve("claude-sonnet-4-5-20250929") == settings.model
    assert config.resolve("local/qwen2.5-coder-0.5b") == "local/qwen2.5-coder-0.5b"


def run_recipe(base_url: str, api_key: str, transcript_id: str) -> dict[str, Any]:
    """Steps 3 to 6 of the recipe, read from the vendor's page, run as published apart from the base URL and key."""
    script = recipe_script()
    steps = script[script.rindex("# ---", 0, script.index("# Step 3:")) :]
    steps = steps.replace("https://llm-gateway.assemblyai.com", base_url)
    namespace: dict[str, Any] = {"API_KEY": api_key, "transcript_id": transcript_id, "requests": requests}
    exec(compile(steps, "llm_gateway_recipe.py", "exec"), namespace)
    return dict(namespace["response_json"])


def transcript_job(base_url: str, api_key: str, path: Path) -> str:
    """In place of the recipe's upload + transcribe: a transcript job, polled the recipe's way."""
    headers = {"authorization": api_key}
    created = requests.post(
        f"{base_url}/v1/transcripts",
        headers=headers,
        json={"transcript": path.read_text(encoding="utf-8"), "pipeline": "transcribe"},
        timeout=30,
    )
    transcript_id = str(created.json()["job_id"])
    while True:
        status = requests.get(f"{base_url}/v1/jobs/{transcript_id}", headers=headers, timeout=30).json()["status"]
        if status == "completed":
            return transcript_id
        if status == "error":
            raise RuntimeError("transcript job failed")
        time.sleep(0.1)


def test_recipe_questions_through_the_gateway(tmp_path: Path) -> None:
    fake = FakeLLM(respond=lambda request: "1. Positive. The customer was pleased.")
    with running_api(tmp_path, llm=fake) as api:
        transcript_id = transcript_job(api.url, api.key, FIXTURES / "positive.txt")
        answer = run_recipe(api.url, api.key, transcript_id)
        without = requests.post(
            f"{api.url}/v1/chat/completions",
            headers={"authorization": f"Bearer {api.key}"},
            json={"model": "x", "messages": [{"role": "user", "content": "{{ transcript }}"}]},
            timeout=30,
        )
    assert answer["object"] == "chat.completion"
    assert answer["choices"][0]["message"] == {"role": "assistant", "content": "1. Positive. The customer was pleased."}
    assert answer["usage"] == {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    assert answer["provenance"]["model_requested"] == "claude-sonnet-4-5-20250929"
    sent = fake.requests[-1]
    assert sent.model == api.service.settings.model and sent.max_tokens == 2000
    content = sent.messages[0].content
    assert "{{ transcript }}" not in content
    assert transcript_text(load_call(FIXTURES / "positive.txt")) in content
    assert "Question: What quote best demonstrates the customer's level of interest?" in content
    assert without.status_code == 400 and without.json()["error"]["field"] == "body.transcript_id"


@pytest.mark.real_model
def test_recipe_on_the_embedded_model(tmp_path: Path) -> None:
    config = yaml.safe_load((REPO / "llm_sentiment" / "configs" / "models.yaml").read_text(encoding="utf-8"))
    config["router_settings"]["model_group_alias"] = {"*": "local/qwen2.5-coder-0.5b"}
    router_config = tmp_path / "models.yaml"
    router_config.write_text(yaml.safe_dump(config))
    model = "local/qwen2.5-coder-0.5b"
    with running_api(tmp_path, use_router=True, router_config=router_config, model=model) as api:
        transcript_id = transcript_job(api.url, api.key, FIXTURES / "positive.txt")
        answer = run_recipe(api.url, api.key, transcript_id)
    text = answer["choices"][0]["message"]["content"]
    assert answer["model"] == "local/qwen2.5-coder-0.5b"
    assert answer["usage"]["prompt_tokens"] > 300 and answer["usage"]["completion_tokens"] > 10
    assert "positive" in text.lower()
