"""Operations a test host process serves (``native_host``): answers, progress, our errors, and real crashes."""

from __future__ import annotations

import ctypes
import os
import time
from typing import Any

from llm_sentiment._util.native_host import Emit, Handler
from llm_sentiment.errors import DecodeFailedError


def _progress(args: dict[str, Any], emit: Emit) -> int:
    for step in range(int(args["steps"])):
        emit({"step": step})
    return int(args["steps"])


def _ours(_args: dict[str, Any], _emit: Emit) -> None:
    raise DecodeFailedError("call.mp3: nothing could be decoded", hint="Is the file complete?", bad_packets=3)


def _theirs(_args: dict[str, Any], _emit: Emit) -> None:
    raise ValueError("not ours")


def _segfault(_args: dict[str, Any], _emit: Emit) -> None:
    print("about to read address zero", flush=True)
    ctypes.string_at(0)


def host_handlers() -> dict[str, Handler]:
    return {
        "echo": lambda args, _emit: args,
        "pid": lambda _args, _emit: os.getpid(),
        "progress": _progress,
        "ours": _ours,
        "theirs": _theirs,
        "sleep": lambda args, _emit: time.sleep(float(args["seconds"])),
        "abort": lambda _args, _emit: os.abort(),
        "segfault": _segfault,
    }
