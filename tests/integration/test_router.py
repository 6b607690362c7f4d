"""Fallback through the real LiteLLM Router: only transport errors move on to the next model."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llm_sentiment.errors import AllModelsFailedError, ConfigError, ProviderRejectedError
from llm_sentiment.llm.base import ChatMessage, LLMRequest
from llm_sentiment.llm.config import RouterConfig
from llm_sentiment.wiring import build_router
from tests.integration.stub_server import openai_stub

ANSWER = json.dumps({"label": "negative", "confidence": 0.8})


def _config(api_base: str, *, fallbacks: bool = True) -> RouterConfig:
    return RouterConfig.model_validate(
        {
            "model_list": [
                {
                    "model_name": "primary",
                    "litellm_params": {"model": "openai/primary", "api_base": api_base, "api_key": "k"},
                },
                {
                    "model_name": "backup",
                    "litellm_params": {"model": "openai/backup", "api_key": "k", "mock_response": ANSWER},
                },
            ],
            "router_settings": {
                "num_retries": 0,
                "timeout": 10,
                "fallbacks": [{"primary": ["backup"]}] if fallbacks else [],
            },
        }
    )


def _request() -> LLMRequest:
    return LLMRequest(model="primary", messages=[ChatMessage(role="user", content="How did the customer feel?")])


@pytest.mark.parametrize("status", [500, 503, 429])
def test_failing_primary_falls_back_and_says_so(settings: Any, status: int) -> None:
    with openai_stub(status) as (api_base, state):
        response = build_router(settings, _config(api_base)).complete(_request())
    assert state.calls >= 1
    assert response.model == "backup" and response.fallbacks_tried == ["primary"]
    assert response.content == ANSWER


def test_unreachable_primary_falls_back(settings: Any) -> None:
    with openai_stub(200) as (api_base, _):
        closed = api_base  # the server is shut down on exit: its port refuses connections
    response = build_router(settings, _config(closed)).complete(_request())
    assert response.model == "backup"


def test_bad_request_does_not_fall_back(settings: Any) -> None:
    body = {"error": {"message": "unsupported parameter", "type": "invalid_request_error"}}
    with openai_stub(400, body) as (api_base, _), pytest.raises(ProviderRejectedError):
        build_router(settings, _config(api_base)).complete(_request())


def test_without_fallbacks_every_model_failing_is_reported(settings: Any) -> None:
    with openai_stub(503) as (api_base, _), pytest.raises(AllModelsFailedError) as info:
        build_router(settings, _config(api_base, fallbacks=False)).complete(_request())
    assert info.value.details["tried"] == ["primary"]


def test_unknown_model_and_bad_fallback_config(settings: Any) -> None:
    client = build_router(settings, _config("http://127.0.0.1:9/v1"))
    with pytest.raises(ConfigError, match="unknown model"):
        client.complete(LLMRequest(model="nope", messages=[ChatMessage(role="user", content="hi")]))
    with pytest.raises(ConfigError, match="unknown models: ghost"):
        RouterConfig.model_validate(
            {
                "model_list": [{"model_name": "a", "litellm_params": {"model": "openai/a"}}],
                "router_settings": {"fallbacks": [{"a": ["ghost"]}]},
            }
        ).check()


def test_shipped_router_config_loads(settings: Any) -> None:
    config = RouterConfig.load(settings.router_config)
    assert settings.model in config.groups()


def test_only_embedded_models_read_label_slots(settings: Any) -> None:
    from llm_sentiment.errors import SlotsUnsupportedError
    from llm_sentiment.llm.base import SlotRequest

    router = build_router(settings, _config("http://127.0.0.1:9"))
    assert not router.reads_slots("primary") and not router.reads_slots("backup")
    assert build_router(settings).reads_slots(settings.model), "the shipped config's embedded model does"
    with pytest.raises(SlotsUnsupportedError):
        router.score_slots(
            SlotRequest(model="primary", messages=_request().messages, lines=["[1] A: hi ->"], labels=["a", "b"])
        )
