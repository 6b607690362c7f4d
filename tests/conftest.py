"""Shared fixtures. Tests never reach the network: only loopback connections are allowed."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

# Property tests check properties, not speed: on a loaded machine a slow example must not fail them
# (performance is measured in bench/, not asserted).
hypothesis_settings.register_profile("untimed", deadline=None)
hypothesis_settings.load_profile("untimed")

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parent.parent


def _is_loopback(host: Any) -> bool:
    if not isinstance(host, str):
        return True  # AF_UNIX paths and the like
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


class NetworkBlockedError(RuntimeError):
    pass


@pytest.fixture(autouse=True, scope="session")
def _no_network() -> Iterator[None]:
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def guard(address: Any) -> None:
        host = address[0] if isinstance(address, tuple) else address
        if not _is_loopback(host):
            raise NetworkBlockedError(f"tests may only connect to loopback, not {address!r}")

    def connect(self: socket.socket, address: Any) -> None:
        guard(address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        guard(address)
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and not _is_loopback(host):
            # What an offline resolver answers, so code under test handles it as it would in production.
            raise socket.gaierror(socket.EAI_NONAME, f"tests may not resolve {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = getaddrinfo
    try:
        yield
    finally:
        socket.socket.connect = real_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = real_connect_ex  # type: ignore[method-assign]
        socket.getaddrinfo = real_getaddrinfo


@pytest.fixture
def settings(tmp_path: Path) -> Any:
    from llm_sentiment.settings import Settings

    return Settings(cache_path=tmp_path / "llm-cache")


@pytest.fixture
def prompts(settings: Any) -> Any:
    from llm_sentiment.ask.prompts import PromptSet

    return PromptSet(settings.prompts_dir, settings.prompts_version)


def scripted_call(name: str) -> Any:
    """A scripted call from tests/fixtures/scripted_calls.json as render_audio turns."""
    import json

    from llm_sentiment.evals.synth.render_audio import Turn

    calls = json.loads((FIXTURES / "scripted_calls.json").read_text(encoding="utf-8"))
    return [Turn.model_validate(turn) for turn in calls[name]]


@pytest.fixture(scope="session")
def audio_settings(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Default settings (the embedded Whisper) with private caches, shared by the audio tests."""
    from llm_sentiment.settings import Settings

    root = tmp_path_factory.mktemp("audio-caches")
    return Settings(cache_path=root / "llm", transcript_cache_path=root / "transcripts")


@pytest.fixture(scope="session")
def spoken_call(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A short stereo support call rendered with espeak-ng (agent on channel 0), for the HTTP audio tests."""
    from llm_sentiment.evals.synth.render_audio import Turn, render_call

    turns = [
        Turn(role="agent", text="Thank you for calling Acme support. How can I help you today?"),
        Turn(role="customer", text="My internet has been down all morning and I am really frustrated."),
        Turn(role="agent", text="I am sorry about that. I have reset your line, so it should work now."),
        Turn(role="customer", text="It works now. Thank you so much for your help."),
    ]
    return render_call(turns, tmp_path_factory.mktemp("spoken") / "call.wav")


@pytest.fixture(scope="session")
def vocab() -> Iterator[Any]:
    """The test model's vocabulary alone (no weights): enough for llama.cpp's grammar parser and sampler."""
    import llama_cpp

    from llm_sentiment.assets import ensure, get_asset
    from llm_sentiment.settings import Settings

    path = ensure(get_asset("qwen2.5-coder-0.5b"), Settings().models_dir)
    params = llama_cpp.llama_model_default_params()
    params.vocab_only = True
    model = llama_cpp.llama_model_load_from_file(str(path).encode(), params)
    assert model, f"cannot read the vocabulary of {path}"
    try:
        yield llama_cpp.llama_model_get_vocab(model)
    finally:
        llama_cpp.llama_model_free(model)
