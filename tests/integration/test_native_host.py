"""Native code in a child process: a crash fails one request, the caller goes on, the next request gets a new child."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from llm_sentiment._util.native_host import DeadlineExceededError, HostError, NativeHost
from llm_sentiment.errors import DecodeFailedError, NativeCrashError, error_class


@pytest.fixture
def host() -> Iterator[NativeHost]:
    served = NativeHost("tests.integration.host_handlers", "test host")
    yield served
    served.close()


def test_answers_and_progress_cross_the_process_boundary_as_json(host: NativeHost) -> None:
    assert host.call("echo", {"text": 'a "quoted" \\ line', "n": [1, 2]}) == {"text": 'a "quoted" \\ line', "n": [1, 2]}
    events: list[dict[str, Any]] = []
    assert host.call("progress", {"steps": 3}, on_event=events.append) == 3
    assert events == [{"step": 0}, {"step": 1}, {"step": 2}]
    assert host.call("pid", {}) != os.getpid(), "the work runs in another process"


def test_our_errors_come_back_as_themselves_others_as_host_errors(host: NativeHost) -> None:
    with pytest.raises(DecodeFailedError) as raised:
        host.call("ours", {})
    assert raised.value.hint == "Is the file complete?" and raised.value.details == {"bad_packets": 3}
    with pytest.raises(HostError, match="ValueError: not ours"):
        host.call("theirs", {})
    assert host.call("echo", {"still": "alive"}) == {"still": "alive"}, "a Python error does not end the child"


@pytest.mark.parametrize(("op", "signal"), [("abort", "SIGABRT"), ("segfault", "SIGSEGV")])
def test_a_crash_fails_one_request_and_the_next_gets_a_fresh_process(host: NativeHost, op: str, signal: str) -> None:
    first = host.call("pid", {})
    with pytest.raises(NativeCrashError) as crashed:
        host.call(op, {})
    assert crashed.value.code == "native.crashed" and crashed.value.details["exit"] == signal
    if op == "segfault":
        assert crashed.value.details["native"][-1] == "about to read address zero", "the child's last words are kept"
    second = host.call("pid", {})
    assert second != first and host.call("echo", {"ok": True}) == {"ok": True}


def test_a_child_that_does_not_answer_in_time_is_killed(host: NativeHost) -> None:
    first = host.call("pid", {})
    with pytest.raises(DeadlineExceededError):
        host.call("sleep", {"seconds": 30}, timeout_s=0.5)
    assert host.call("pid", {}) != first


def test_closing_ends_the_child(host: NativeHost) -> None:
    host.call("echo", {})
    pid = host.pid
    assert pid is not None
    host.close()
    assert host.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_error_classes_are_found_by_code() -> None:
    assert error_class("audio.decode_failed") is DecodeFailedError
    assert error_class("llm.invalid_answer").__name__ == "InvalidAnswerError", "the leaf, not the branch"
    assert error_class("no.such_code") is None
