"""Fallback as composition, with two scripted doubles and no LiteLLM: which errors move on, what is reported."""

from __future__ import annotations

import pytest

from llm_sentiment.errors import (
    AllModelsFailedError,
    ProviderRejectedError,
    ProviderTimeoutError,
    ProviderUnavailableError,
)
from llm_sentiment.llm.base import ChatMessage, LLMRequest, WrapperLLM
from llm_sentiment.llm.fallback import Backup, FallbackLLM
from llm_sentiment.llm.testing import FakeLLM

REQUEST = LLMRequest(model="primary", messages=[ChatMessage(role="user", content="How did the customer feel?")])


def test_a_transport_error_moves_on_to_the_backup_which_answers_as_itself() -> None:
    primary = FakeLLM("primary").enqueue(ProviderTimeoutError("primary: timed out"))
    backup = FakeLLM("backup").enqueue('{"label": "neutral"}')
    response = FallbackLLM(primary, {"primary": [Backup("backup", backup)]}).complete(REQUEST)
    assert response.model == "backup" and response.fallbacks_tried == ["primary"]
    assert backup.requests[0].model == "backup", "the backup is asked for its own model group"


def test_a_rejected_request_stops_at_once() -> None:
    primary = FakeLLM("primary").enqueue(ProviderRejectedError("primary: bad request"))
    backup = FakeLLM("backup")
    with pytest.raises(ProviderRejectedError):
        FallbackLLM(primary, {"primary": [Backup("backup", backup)]}).complete(REQUEST)
    assert backup.requests == []


def test_every_model_failing_lists_them_all() -> None:
    primary = FakeLLM("primary").enqueue(ProviderUnavailableError("primary: 503"))
    backup = FakeLLM("backup").enqueue(ProviderTimeoutError("backup: timed out"))
    with pytest.raises(AllModelsFailedError) as failed:
        FallbackLLM(primary, {"primary": [Backup("backup", backup)]}).complete(REQUEST)
    assert failed.value.details["tried"] == ["primary", "backup"]
    assert "503" in failed.value.message and "timed out" in failed.value.message


def test_a_model_without_backups_is_answered_by_the_primary() -> None:
    primary = FakeLLM("primary").enqueue('{"label": "positive"}')
    response = FallbackLLM(primary).complete(REQUEST)
    assert response.model == "primary" and response.fallbacks_tried == []


def test_wrappers_forward_what_they_do_not_handle() -> None:
    class Host(FakeLLM):
        def preload(self, model: str) -> str:
            return f"loaded {model}"

    wrapped = WrapperLLM(FallbackLLM(Host()))
    assert wrapped.preload("m") == "loaded m"  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        wrapped.cost  # type: ignore[attr-defined]  # noqa: B018
