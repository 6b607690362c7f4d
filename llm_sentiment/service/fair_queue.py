"""The queue of the synchronous LLM endpoints (questions, chat completions, Deepgram's read).

Requests wait per API key and a few threads take them in turn, the least recently served key
first, so one key's backlog never stands in front of another key's request. Waiting is bounded in
all and per key: past a bound a request is refused at once (``QueueFullError``, 429 with
Retry-After) instead of waiting behind minutes of model time.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

from llm_sentiment.errors import QueueFullError

T = TypeVar("T")

_FIRST_ESTIMATE_S = 1.0
"""Assumed run time of one request until one has been timed (for Retry-After)."""


@dataclass(eq=False)
class _Task:
    seq: int
    future: Future[Any]
    work: Callable[[], Any]


class FairQueue:
    def __init__(self, threads: int, max_waiting: int, max_waiting_per_key: int, name: str = "api-llm") -> None:
        self.threads = threads
        self.max_waiting = max_waiting
        self.max_waiting_per_key = max_waiting_per_key
        self._cond = threading.Condition()
        self._waiting: dict[str, deque[_Task]] = {}
        self._count = 0
        self._running: Counter[str] = Counter()
        self._served: dict[str, int] = {}
        self._seq = itertools.count()
        self._mean_s = _FIRST_ESTIMATE_S
        self._stopped = False
        for n in range(threads):
            threading.Thread(target=self._work, name=f"{name}-{n}", daemon=True).start()

    def submit(self, key: str, work: Callable[[], T]) -> Future[T]:
        """Queue ``work`` for ``key``; QueueFullError when the queue or the key's share of it is full."""
        future: Future[T] = Future()
        with self._cond:
            if self._stopped:
                raise RuntimeError("the queue is shut down")
            mine = self._waiting.get(key)
            if (mine is not None and len(mine) >= self.max_waiting_per_key) or self._count >= self.max_waiting:
                whose = "this key's" if mine is not None and len(mine) >= self.max_waiting_per_key else "the"
                raise QueueFullError(
                    f"{whose} queue of LLM requests is full ({self._count} waiting)",
                    hint="Retry after the Retry-After seconds, or submit a job instead.",
                    retry_after_s=self._retry_after_s(),
                )
            task = _Task(next(self._seq), future, work)
            self._waiting.setdefault(key, deque()).append(task)
            self._count += 1
            self._cond.notify()
        future.add_done_callback(lambda done: self._forget(key, task) if done.cancelled() else None)
        return future

    def waiting(self, key: str | None = None) -> int:
        with self._cond:
            return self._count if key is None else len(self._waiting.get(key, ()))

    def shutdown(self) -> None:
        """Stop the threads once their current request ends; requests still waiting are cancelled."""
        with self._cond:
            self._stopped = True
            tasks = [task for queue in self._waiting.values() for task in queue]
            self._waiting.clear()
            self._count = 0
            self._cond.notify_all()
        for task in tasks:
            task.future.cancel()

    def _retry_after_s(self) -> float:
        """About when the requests ahead will have run: each takes the recent mean, ``threads`` at once."""
        ahead = self._count + sum(self._running.values())
        return max(1.0, self._mean_s * ahead / self.threads)

    def _forget(self, key: str, task: _Task) -> None:
        """A cancelled request (its client went away) stops counting against the bounds."""
        with self._cond:
            queue = self._waiting.get(key)
            if queue is None or task not in queue:
                return
            queue.remove(task)
            self._count -= 1
            if not queue:
                del self._waiting[key]
                self._tidy(key)

    def _tidy(self, key: str) -> None:
        """A key with nothing waiting or running is forgotten: it comes back as a newcomer."""
        if key not in self._waiting and not self._running[key]:
            del self._running[key]
            self._served.pop(key, None)

    def _next(self) -> tuple[str, _Task] | None:
        with self._cond:
            while not self._waiting and not self._stopped:
                self._cond.wait()
            if self._stopped:
                return None
            key = min(self._waiting, key=lambda k: (self._served.get(k, -1), self._waiting[k][0].seq))
            queue = self._waiting[key]
            task = queue.popleft()
            if not queue:
                del self._waiting[key]
            self._count -= 1
            self._running[key] += 1
            self._served[key] = next(self._seq)
            return key, task

    def _work(self) -> None:
        while (taken := self._next()) is not None:
            key, task = taken
            started = time.monotonic()
            ran = task.future.set_running_or_notify_cancel()
            if ran:
                try:
                    task.future.set_result(task.work())
                except BaseException as exc:  # handed to the waiting request, which raises it
                    task.future.set_exception(exc)
            with self._cond:
                self._running[key] -= 1
                self._tidy(key)
                if ran:
                    self._mean_s = 0.8 * self._mean_s + 0.2 * (time.monotonic() - started)
