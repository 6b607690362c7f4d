"""A loopback OpenAI-compatible stub that answers with a scripted status (for transport-error tests)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.integration.servers import QuietHandler, serve_handler


class StubState:
    def __init__(self, status: int, body: dict[str, Any] | None = None) -> None:
        self.status = status
        self.body = body or {"error": {"message": "scripted failure", "type": "server_error"}}
        self.calls = 0


@contextmanager
def openai_stub(status: int, body: dict[str, Any] | None = None) -> Iterator[tuple[str, StubState]]:
    state = StubState(status, body)

    class Handler(QuietHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server hook name
            self.rfile.read(int(self.headers.get("content-length") or 0))
            state.calls += 1
            self.reply(state.status, state.body)

    with serve_handler(Handler, "/v1") as url:
        yield url, state
