"""The synchronous LLM endpoints' queue: round-robin across keys, bounded in all and per key."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import httpx
import pytest

from llm_sentiment.errors import QueueFullError
from llm_sentiment.llm.testing import FakeLLM, schema_answer
from llm_sentiment.service.fair_queue import FairQueue
from tests.integration.servers import wait_for
from tests.integration.test_api import Api, running_api

READ = "/v1/read?sentiment=true&language=en"


def chat(api: Api, key: str, text: str) -> httpx.Response:
    with api.client(key) as client:
        return client.post("/v1/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": text}]})


def in_background(send: Callable[[], httpx.Response]) -> tuple[threading.Thread, list[httpx.Response]]:
    answers: list[httpx.Response] = []
    thread = threading.Thread(target=lambda: answers.append(send()))
    thread.start()
    return thread, answers


def asked(llm: FakeLLM) -> list[str]:
    return [request.messages[-1].content for request in llm.requests]


def test_another_keys_request_runs_before_one_keys_backlog(tmp_path: Path) -> None:
    llm = FakeLLM(respond=schema_answer, delay_s=0.5)
    with running_api(tmp_path, llm=llm, api_llm_threads=1) as api:
        first = in_background(lambda: chat(api, api.key, "A0"))
        wait_for(lambda: llm.requests, 10, "the first request to reach the model")
        backlog = [in_background(partial(chat, api, api.key, f"A{n}")) for n in range(1, 5)]
        time.sleep(0.3)  # A's backlog is waiting before B asks
        other = in_background(lambda: chat(api, api.other_key, "B"))
        for thread, _ in [first, *backlog, other]:
            thread.join(30)
    assert all(answers[0].status_code == 200 for _, answers in [first, *backlog, other])
    order = asked(llm)
    assert order[0] == "A0" and order.index("B") == 1, order  # FIFO ran B after all of A's backlog


def test_a_full_queue_answers_429_with_retry_after(tmp_path: Path) -> None:
    llm = FakeLLM(respond=schema_answer, delay_s=1.0)
    settings = {"api_llm_threads": 1, "api_llm_queue": 3, "api_llm_queue_per_key": 2}
    with running_api(tmp_path, llm=llm, **settings) as api:
        running = in_background(lambda: chat(api, api.key, "A0"))
        wait_for(lambda: llm.requests, 10, "the first request to reach the model")
        waiting = [in_background(partial(chat, api, api.key, f"A{n}")) for n in (1, 2)]
        time.sleep(0.3)
        per_key = chat(api, api.key, "A3")  # A already has 2 waiting
        other = in_background(lambda: chat(api, api.other_key, "B0"))
        time.sleep(0.3)
        total = chat(api, api.other_key, "B1")  # 3 waiting in all
        with api.client(api.other_key) as client:
            read = client.post(READ, json={"text": "Thank you so much."})
        for thread, _ in [running, *waiting, other]:
            thread.join(30)
    for refused in (per_key, total):
        assert refused.status_code == 429, refused.text
        assert refused.json()["error"]["code"] == "queue.full"
        assert int(refused.headers["retry-after"]) >= 1
    assert read.status_code == 429 and read.json()["err_code"] == "TOO_MANY_REQUESTS"  # Deepgram's shape
    assert int(read.headers["retry-after"]) >= 1
    assert all(answers[0].status_code == 200 for _, answers in [running, *waiting, other])
    assert sorted(asked(llm)) == ["A0", "A1", "A2", "B0"]


def test_the_queue_takes_keys_in_turn_least_recently_served_first() -> None:
    queue = FairQueue(threads=1, max_waiting=10, max_waiting_per_key=10)
    gate = threading.Event()
    order: list[str] = []
    try:
        blocker = queue.submit("a", gate.wait)
        names = ["a1", "a2", "a3", "b1", "c1", "b2"]
        futures = [queue.submit(name[0], partial(order.append, name)) for name in names]
        gate.set()
        blocker.result(5)
        for future in futures:
            future.result(5)
    finally:
        queue.shutdown()
    assert order == ["b1", "c1", "a1", "b2", "a2", "a3"]


def test_the_queue_refuses_past_its_bounds() -> None:
    queue = FairQueue(threads=1, max_waiting=3, max_waiting_per_key=2)
    gate = threading.Event()
    try:
        queue.submit("a", gate.wait)
        wait_for(lambda: queue.waiting() == 0, 5, "the first task to start")
        queue.submit("a", lambda: None)
        queue.submit("a", lambda: None)
        with pytest.raises(QueueFullError) as per_key:
            queue.submit("a", lambda: None)
        queue.submit("b", lambda: None)
        with pytest.raises(QueueFullError) as total:
            queue.submit("c", lambda: None)
        assert queue.waiting() == 3 and queue.waiting("a") == 2
        assert per_key.value.retry_after_s >= 1 and total.value.retry_after_s >= 1
    finally:
        gate.set()
        queue.shutdown()
