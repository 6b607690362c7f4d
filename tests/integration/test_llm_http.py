"""LLM over HTTP: llama.cpp's OpenAI-compatible server as the primary model, the in-process model as
the fallback. The server is killed mid-job; the jobs complete on the fallback and their provenance
says which question each model answered."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from llm_sentiment.assets import ensure, get_asset
from llm_sentiment.settings import Settings
from tests.conftest import FIXTURES
from tests.integration.servers import Process, free_port, service_env, wait_for
from tests.integration.test_api import running_api

pytestmark = pytest.mark.real_model

LOCAL = "local/qwen2.5-coder-0.5b"


def router_config(path: Path, api_base: str) -> Path:
    config = {
        "model_list": [
            {
                "model_name": "http-qwen",
                "litellm_params": {"model": "openai/qwen", "api_base": api_base, "api_key": "none"},
            },
            {"model_name": LOCAL, "litellm_params": {"model": LOCAL}},
        ],
        "router_settings": {"num_retries": 0, "timeout": 900, "fallbacks": [{"http-qwen": [LOCAL]}]},
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def test_killed_llm_server_falls_back_to_the_embedded_model(tmp_path: Path) -> None:
    gguf = ensure(get_asset("qwen2.5-coder-0.5b"), Settings().models_dir)
    port = free_port()
    server = Process(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(gguf),
            "--model_alias",
            "qwen",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "2048",
            "--n_threads",
            "1",
        ],
        env=service_env(tmp_path),
        log=tmp_path / "llama-server.log",
    )
    try:
        wait_for(lambda: httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=2).status_code == 200, 120, "server")
        config = router_config(tmp_path / "models.yaml", f"http://127.0.0.1:{port}/v1")
        with (
            running_api(
                tmp_path,
                use_router=True,
                router_config=config,
                model="http-qwen",
                job_max_attempts=1,
                max_quotes=1,
                threads=1,  # one thread each for server and fallback: no oversubscribed llama.cpp barriers
            ) as api,
            api.client() as client,
        ):
            # A call the 0.5B answers well on all six questions (on another, its evidence can run out of tokens).
            transcript = (FIXTURES / "positive.txt").read_text(encoding="utf-8") + "\nAgent: Goodbye!"
            first, second = (
                client.post("/v1/transcripts", json={"transcript": transcript}).json()["job_id"] for _ in range(2)
            )
            wait_for(lambda: client.get(f"/v1/jobs/{first}").json()["progress"] > 0.2, 300, "a question answered")
            server.kill()
            jobs = [api.wait(job_id, timeout_s=1200) for job_id in (first, second)]
            analyses: list[dict[str, Any]] = [client.get(f"/v1/analysis/{j}").json() for j in (first, second)]
    finally:
        server.stop()
    assert [j["status"] for j in jobs] == ["completed", "completed"], jobs
    served = [(p["model_used"], p["fallbacks_tried"]) for p in analyses[0]["provenance"]]
    assert served[0] == ("http-qwen", [])
    assert served[-1] == (LOCAL, ["http-qwen"])
    assert all(p["model_used"] == LOCAL and p["fallbacks_tried"] == ["http-qwen"] for p in analyses[1]["provenance"])
    assert all(p["model_requested"] == "http-qwen" for a in analyses for p in a["provenance"])
    print("\nprovenance of the interrupted job:", served)
