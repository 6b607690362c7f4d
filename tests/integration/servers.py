"""Servers the service tests start on loopback and stop afterwards: the API under a real uvicorn, an
OpenAI-compatible LLM stub for worker processes, redis-server, and ``llm-sentiment`` subprocesses."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import uvicorn
import yaml

from llm_sentiment.llm.base import ChatMessage, LLMRequest
from llm_sentiment.llm.testing import schema_answer

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / ".venv" / "bin" / "llm-sentiment"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Callable[[], Any], timeout_s: float, what: str, interval_s: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            value = check()
        except (httpx.HTTPError, OSError):
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(interval_s)


@contextmanager
def serve_app(app: Any) -> Iterator[str]:
    """The app under a real uvicorn server in a thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, 30, "uvicorn to start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


class _QuietServer(ThreadingHTTPServer):
    """A client killed mid-request (the point of the fault tests) is not an error worth a traceback."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class QuietHandler(BaseHTTPRequestHandler):
    """A stub's request handler: no access log, and JSON replies in one call."""

    def reply(self, status: int, body: Any = None) -> None:
        payload = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def serve_handler(handler: type[BaseHTTPRequestHandler], path: str = "") -> Iterator[str]:
    """A stub HTTP server on a loopback port in a thread; yields its base URL (plus ``path``)."""
    server = _QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{path}"
    finally:
        server.shutdown()
        server.server_close()


class LLMStub:
    """An OpenAI-compatible chat server that answers every request with the smallest valid answer."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.calls = 0
        self._lock = threading.Lock()

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.calls += 1
        time.sleep(self.delay_s)
        response_format = body.get("response_format") or {}
        schema = response_format.get("schema") or (response_format.get("json_schema") or {}).get("schema")
        request = LLMRequest(
            model=body.get("model", "stub"),
            messages=[ChatMessage(role=m["role"], content=m["content"]) for m in body["messages"]],
            json_schema=schema,
        )
        return {
            "id": "chatcmpl-stub",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "stub"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": schema_answer(request)},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 50, "completion_tokens": 10, "total_tokens": 60},
        }


@contextmanager
def llm_stub(delay_s: float = 0.0) -> Iterator[tuple[str, LLMStub]]:
    stub = LLMStub(delay_s)

    class Handler(QuietHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            self.reply(200, stub.answer(json.loads(self.rfile.read(length))))

    with serve_handler(Handler, "/v1") as url:
        yield url, stub


def stub_router_config(path: Path, api_base: str) -> Path:
    """A router config whose one model group is the stub (no local model is loaded)."""
    config = {
        "model_list": [
            {
                "model_name": "stub",
                "litellm_params": {"model": "openai/stub", "api_base": api_base, "api_key": "none"},
            }
        ],
        "router_settings": {"num_retries": 0, "timeout": 30, "model_group_alias": {"*": "stub"}},
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def service_env(data_dir: Path, **settings: Any) -> dict[str, str]:
    """The environment of a ``llm-sentiment`` subprocess: this test's data dir and settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLM_SENTIMENT_")}
    env.update(
        {
            "HF_HUB_OFFLINE": "1",
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "LLM_SENTIMENT_HOME": os.environ.get("LLM_SENTIMENT_HOME", str(Path.home() / ".cache" / "llm-sentiment")),
            "LLM_SENTIMENT_DATA_DIR": str(data_dir),
            "LLM_SENTIMENT_CACHE": "false",
        }
    )
    env.update({f"LLM_SENTIMENT_{k.upper()}": str(v) for k, v in settings.items()})
    return env


class Process:
    """A child process with its output in a log file, stopped (or killed) when the test ends."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._out = log.open("ab")
        self.proc = subprocess.Popen(args, env=env, stdout=self._out, stderr=subprocess.STDOUT, cwd=REPO)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._out.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def llm_sentiment(*args: str) -> list[str]:
    return [str(BIN) if BIN.exists() else sys.executable, *([] if BIN.exists() else ["-m", "llm_sentiment"]), *args]


@contextmanager
def redis_server(tmp: Path) -> Iterator[str]:
    """A throwaway redis-server on a loopback port (installed by scripts/bootstrap.sh --test)."""
    executable = shutil.which("redis-server")
    if executable is None:
        raise RuntimeError("redis-server is not installed: run scripts/bootstrap.sh --test")
    port = free_port()
    proc = Process(
        [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(tmp)],
        env=dict(os.environ),
        log=tmp / "redis.log",
    )
    try:
        wait_for(lambda: _redis_ping(port), 15, "redis-server")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.stop()


def _redis_ping(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(16).startswith(b"+PONG")


def _pg_bin(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)), None
    )
    if found is None:
        raise RuntimeError("PostgreSQL is not installed: run scripts/bootstrap.sh --test")
    return str(found)


@contextmanager
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL cluster on a loopback port; yields its SQLAlchemy URL.

    initdb refuses to run as root, so as root the cluster belongs to the `postgres` system user
    (in a directory of its own: pytest's temporary directories are private to root).
    """
    as_user: list[str] = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    tmp = Path(tempfile.mkdtemp(prefix="llm-sentiment-pg-"))
    data = tmp / "data"
    if as_user:
        shutil.chown(tmp, "postgres", "postgres")
    pg_ctl = _pg_bin("pg_ctl")
    try:
        subprocess.run(
            [*as_user, _pg_bin("initdb"), "-D", str(data), "-U", "test", "--auth=trust", "-E", "UTF8"],
            check=True,
            capture_output=True,
        )
        port = free_port()
        options = f"-p {port} -h 127.0.0.1 -k {tmp} -c fsync=off -c full_page_writes=off"
        subprocess.run(
            [*as_user, pg_ctl, "-D", str(data), "-o", options, "-l", str(tmp / "pg.log"), "-w", "start"],
            check=True,
            capture_output=True,
        )
        try:
            yield f"postgresql+psycopg://test@127.0.0.1:{port}/postgres"
        finally:
            subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"], capture_output=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
