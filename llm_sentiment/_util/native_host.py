"""Native code in a supervised child process: a crash in llama.cpp, CTranslate2 or onnxruntime fails
the one request that was running, never the process that asked (a server and its other jobs, a CLI run).

A host is one child process (``python -m llm_sentiment._util.native_host MODULE FD``) that serves one request
at a time over a socket in JSON lines, never pickle: ``{"op", "args"}`` in; any number of
``{"event"}`` (progress), then ``{"ok"}`` or ``{"error"}`` out. What the child keeps loaded (a model)
stays loaded between requests. A child that dies mid-request raises ``NativeCrashError`` naming its
signal and its last output lines; the next request starts a fresh child. A child exits as soon as
its socket closes, so it never outlives the process that started it.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from llm_sentiment.errors import LLMSentimentError, NativeCrashError, error_class

log = logging.getLogger(__name__)

Emit = Callable[[dict[str, Any]], None]
Handler = Callable[[dict[str, Any], Emit], Any]
"""One operation a host serves: its JSON arguments and a way to report progress in, a JSON value out."""


_STOP_GRACE_S = 5.0
_TAIL_LINES = 20
_CRASH_LINES = 4
_CRASH_LINE_CHARS = 240
_PACKAGE_PARENT = str(Path(__file__).resolve().parent.parent)
_DEADLINE = "deadline"
_FOREIGN = "foreign"
"""Error codes of the protocol itself: a deadline, and a Python exception that is not one of ours."""


class DeadlineExceededError(Exception):
    """The request's deadline passed: llama.cpp stopped mid-computation, or the child did not answer."""


class HostError(RuntimeError):
    """A Python exception inside the child that is not one of ours (its type and message, nothing else)."""


class NativeHost:
    """The parent's side of one child process; calls are serialised (the child serves one at a time)."""

    def __init__(self, module: str, label: str) -> None:
        """``module`` is what the child serves: a module with ``host_handlers() -> dict[str, Handler]``."""
        self.module = module
        self.label = label
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._reader: IO[bytes] | None = None
        self._tail: deque[str] = deque(maxlen=_TAIL_LINES)
        self._drain: threading.Thread | None = None
        _LIVE.add(self)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def call(
        self,
        op: str,
        args: dict[str, Any],
        *,
        timeout_s: float | None = None,
        on_event: Callable[[dict[str, Any]], None] | None = None,
    ) -> Any:
        """Run ``op`` in the child; ``timeout_s`` bounds the wait, after which the child is killed."""
        with self._lock:
            self._ensure_started()
            assert self._sock is not None and self._reader is not None
            self._sock.sendall(json.dumps({"op": op, "args": args}).encode() + b"\n")
            self._sock.settimeout(timeout_s)
            deadline = None if timeout_s is None else time.monotonic() + timeout_s
            while True:
                try:
                    line = self._reader.readline()
                except TimeoutError:
                    self._stop(kill=True)
                    raise DeadlineExceededError(
                        f"the {self.label} process gave no answer within {timeout_s:.0f}s"
                    ) from None
                except OSError:
                    line = b""
                if not line:
                    raise self._crashed()
                message = json.loads(line)
                if "event" in message:
                    if on_event is not None:
                        on_event(message["event"])
                    if deadline is not None:
                        self._sock.settimeout(max(0.001, deadline - time.monotonic()))
                    continue
                if "ok" in message:
                    return message["ok"]
                raise _rebuilt(message["error"])

    def close(self) -> None:
        with self._lock:
            self._stop(kill=False)

    def _ensure_started(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            return
        self._stop(kill=True)
        parent, child = socket.socketpair()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_PARENT, env.get("PYTHONPATH")) if p)
        env["PYTHONUNBUFFERED"] = "1"
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "llm_sentiment._util.native_host", self.module, str(child.fileno())],
            pass_fds=(child.fileno(),),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a terminal's Ctrl-C reaches the parent, which then closes the child
            env=env,
        )
        child.close()
        self._sock, self._reader = parent, parent.makefile("rb")
        self._tail.clear()
        self._drain = threading.Thread(
            target=self._collect, args=(self._proc,), name=f"{self.label}-output", daemon=True
        )
        self._drain.start()
        log.debug("started the %s process (pid %d)", self.label, self._proc.pid)

    def _collect(self, proc: subprocess.Popen[bytes]) -> None:
        """The child's output: logged at debug level, the last lines kept for a crash report."""
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode("utf-8", errors="replace").rstrip()
            if line:
                self._tail.append(line)
                log.debug("%s[%d]: %s", self.label, proc.pid, line)

    def _crashed(self) -> NativeCrashError:
        proc = self._proc
        assert proc is not None
        try:
            code = proc.wait(timeout=_STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            self._stop(kill=True)
            code = proc.returncode
        if self._drain is not None:
            self._drain.join(timeout=1.0)
        how = _exit_reason(code)
        native = [line[:_CRASH_LINE_CHARS] for line in list(self._tail)[-_CRASH_LINES:]]
        self._stop(kill=True)
        log.error("the %s process died (%s) mid-request", self.label, how)
        return NativeCrashError(
            f"the {self.label} process died ({how}) while working on this request",
            hint="Native code crashed on this input; other requests go on in a fresh process.",
            exit=how,
            native=native,
        )

    def _stop(self, *, kill: bool) -> None:
        proc, sock, reader = self._proc, self._sock, self._reader
        self._proc = self._sock = self._reader = None
        for closable in (reader, sock):
            if closable is not None:
                with contextlib.suppress(OSError):
                    closable.close()
        if proc is None or proc.poll() is not None:
            return
        if not kill:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=_STOP_GRACE_S)  # a closed socket makes the child exit by itself
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _exit_reason(code: int | None) -> str:
    if code is None:
        return "no exit status"
    if code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    return f"exit status {code}"


def _rebuilt(error: dict[str, Any]) -> Exception:
    """The child's error as the parent's exception: ours by code, a deadline, or a HostError."""
    code, message = str(error.get("code", _FOREIGN)), str(error.get("message", ""))
    if code == _DEADLINE:
        return DeadlineExceededError(message)
    cls = None if code == _FOREIGN else error_class(code)
    if cls is None:
        return HostError(f"{error.get('type', 'Exception')}: {message}")
    return cls.rebuild(message, hint=error.get("hint"), details=dict(error.get("details") or {}))


_LIVE: weakref.WeakSet[NativeHost] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for host in list(_LIVE):
        host.close()


def serve(module: str, fd: int) -> None:
    """The child's loop: one request at a time until the parent closes the socket."""
    sock = socket.socket(fileno=fd)
    handlers: dict[str, Handler] = importlib.import_module(module).host_handlers()
    writer_lock = threading.Lock()

    def send(message: dict[str, Any]) -> None:
        data = json.dumps(message).encode() + b"\n"
        with writer_lock:
            sock.sendall(data)

    for line in sock.makefile("rb"):
        request = json.loads(line)
        try:
            result = handlers[request["op"]](request["args"], lambda event: send({"event": event}))
        except LLMSentimentError as exc:
            send({"error": {"code": exc.code, "message": exc.message, "hint": exc.hint, "details": exc.details}})
        except DeadlineExceededError as exc:
            send({"error": {"code": _DEADLINE, "message": str(exc)}})
        except Exception as exc:
            log.exception("%s: %s failed", module, request.get("op"))
            send({"error": {"code": _FOREIGN, "type": type(exc).__name__, "message": str(exc)[:500]}})
        else:
            send({"ok": result})


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    serve(sys.argv[1], int(sys.argv[2]))
