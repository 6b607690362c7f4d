"""The HTTP API end to end: a real uvicorn server on loopback, the FakeLLM injected through create_app."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from llm_sentiment.errors import InvalidAnswerError, ProviderUnavailableError
from llm_sentiment.llm.base import LLMRequest
from llm_sentiment.llm.cached import CachedLLM, ResponseCache
from llm_sentiment.llm.testing import FakeLLM, schema_answer
from llm_sentiment.service.http.app import create_app
from llm_sentiment.service.webhooks import SIGNATURE_HEADER, verify
from llm_sentiment.service.wiring import Service
from llm_sentiment.settings import Settings
from llm_sentiment.wiring import build_analyzer, load_call
from tests.conftest import FIXTURES, REPO
from tests.integration.servers import QuietHandler, postgres_server, serve_app, serve_handler, wait_for

CALL = (REPO / "examples" / "billing_dispute.txt").read_text(encoding="utf-8")


@dataclass
class Api:
    url: str
    service: Service
    llm: FakeLLM
    key: str
    other_key: str

    def client(self, key: str | None = None, scheme: str = "Bearer") -> httpx.Client:
        token = key or self.key
        header = f"{scheme} {token}".strip()
        return httpx.Client(base_url=self.url, headers={"authorization": header}, timeout=30)

    def wait(self, job_id: str, timeout_s: float = 30, key: str | None = None) -> dict[str, Any]:
        with self.client(key) as client:
            return dict(
                wait_for(
                    lambda: (
                        (body := client.get(f"/v1/jobs/{job_id}").json())["status"] in ("completed", "error") and body
                    ),
                    timeout_s,
                    f"job {job_id}",
                )
            )


def service_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "cache": False,
        "webhook_allow_private": True,
        "sweep_interval_s": 0.2,
        "rate_limit_per_s": 0,
        "job_retry_delay_s": 0,
    }
    values.update(overrides)
    return Settings(**values)


@contextmanager
def running_api(
    tmp_path: Path,
    llm: FakeLLM | None = None,
    *,
    workers: int = 1,
    use_router: bool = False,
    preload: bool = True,
    answer_cache: Path | None = None,
    **overrides: Any,
) -> Iterator[Api]:
    """The API on loopback with two tenants' keys; the FakeLLM unless ``use_router`` (the real models),
    its answers cached in ``answer_cache``."""
    fake = llm or FakeLLM(respond=schema_answer)
    settings = service_settings(tmp_path, **overrides)
    injected = CachedLLM(fake, ResponseCache(answer_cache)) if answer_cache else fake
    app = create_app(settings, llm=None if use_router else injected, workers=workers, preload=preload)
    service: Service = app.state.service
    key = service.keys.create("qa-team", frozenset({"ingest", "insights:read"})).key
    other = service.keys.create("other-team", frozenset({"ingest", "insights:read"})).key
    with serve_app(app) as url:
        yield Api(url=url, service=service, llm=fake, key=key, other_key=other)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with running_api(tmp_path) as running:
        yield running


def submit(client: httpx.Client, transcript: str = CALL, **fields: Any) -> httpx.Response:
    return client.post("/v1/transcripts", json={"transcript": transcript, **fields})


def stored_files(service: Service) -> list[Path]:
    return [p for p in service.blobs.root.rglob("*") if p.is_file()]


def test_transcript_job_runs_the_same_analysis_as_the_cli(api: Api, settings: Settings) -> None:
    question = {"question": "Why did the customer call?", "context": "A billing call.", "answer_format": "one sentence"}
    with api.client() as client:
        response = submit(client, questions=[question])
        assert response.status_code == 202, response.text
        job = response.json()
        assert job["status"] == "queued" and job["stage"] == "queued" and job["pipeline"] == "full-analysis"
        assert response.headers["location"] == f"/v1/jobs/{job['job_id']}"
        done = api.wait(job["job_id"])
        assert done["status"] == "completed" and done["progress"] == 1.0 and done["attempts"] == 1
        transcript = client.get(f"/v1/transcripts/{job['job_id']}").json()["transcript"]
        analysis = client.get(f"/v1/analysis/{job['job_id']}", params={"view": "native"}).json()

    expected = build_analyzer(settings, FakeLLM(respond=schema_answer)).analyze(
        load_call(REPO / "examples" / "billing_dispute.txt"),
        [build_question(question)],
    )
    assert transcript == json.loads(expected.transcript.model_dump_json())
    strip = lambda a: {k: v for k, v in a.items() if k not in ("provenance", "timings")}  # noqa: E731 - latencies differ
    assert strip(analysis) == strip(json.loads(expected.model_dump_json()))
    assert [p["question_id"] for p in analysis["provenance"]] == [p.question_id for p in expected.provenance]


def build_question(fields: dict[str, str]) -> Any:
    from llm_sentiment.ask.answers import UserQuestion

    return UserQuestion(id="q1", **fields)


@pytest.mark.parametrize(
    ("fixture", "input_format"), [("assemblyai.json", "auto"), ("deepgram_utterances.json", "deepgram")]
)
def test_upload_any_transcript_format(api: Api, fixture: str, input_format: str) -> None:
    with api.client() as client:
        response = client.post(
            "/v1/transcripts",
            files={"file": (fixture, (FIXTURES / fixture).read_bytes(), "application/json")},
            data={"pipeline": "transcribe", "input_format": input_format},
        )
        assert response.status_code == 202, response.text
        assert response.json()["input"]["name"] == fixture
        job_id = response.json()["job_id"]
        assert api.wait(job_id)["status"] == "completed"
        transcript = client.get(f"/v1/transcripts/{job_id}").json()["transcript"]
        analysis = client.get(f"/v1/analysis/{job_id}")
    assert transcript == json.loads(load_call(FIXTURES / fixture).model_dump_json())
    assert analysis.status_code == 403 and analysis.json()["error"]["code"] == "job.not_analyzed"
    assert api.llm.requests == []


def test_progress_and_stage_while_analyzing(tmp_path: Path) -> None:
    with running_api(tmp_path, llm=FakeLLM(respond=schema_answer, delay_s=0.3)) as api, api.client() as client:
        job_id = submit(client).json()["job_id"]
        seen = wait_for(
            lambda: (
                (body := client.get(f"/v1/jobs/{job_id}").json())["stage"] == "analyzing"
                and body["progress"] > 0.05
                and body
            ),
            30,
            "progress",
        )
        assert seen["status"] == "processing" and seen["started_at"]
        early = client.get(f"/v1/analysis/{job_id}")
        assert early.status_code == 404 and early.json()["error"]["code"] == "job.not_ready"
        assert client.get(f"/v1/transcripts/{job_id}").status_code == 200  # read before the analysis ends
        assert api.wait(job_id)["status"] == "completed"


def test_idempotency_key_returns_the_same_job(api: Api) -> None:
    with api.client() as client:
        headers = {"Idempotency-Key": "retry-42"}
        first = client.post("/v1/transcripts", json={"transcript": CALL}, headers=headers)
        again = client.post("/v1/transcripts", json={"transcript": CALL}, headers=headers)
        assert first.status_code == again.status_code == 202
        assert again.json()["job_id"] == first.json()["job_id"]
        assert again.headers["idempotent-replayed"] == "true"
        changed = client.post("/v1/transcripts", json={"transcript": CALL, "pipeline": "transcribe"}, headers=headers)
        assert changed.status_code == 422 and changed.json()["error"]["code"] == "request.idempotency"
        results: list[str] = []

        def race() -> None:
            with api.client() as own:
                body = own.post("/v1/transcripts", json={"transcript": CALL}, headers={"Idempotency-Key": "race"})
                results.append(body.json()["job_id"])

        threads = [threading.Thread(target=race) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(set(results)) == 1 and len(results) == 4
    assert (
        api.service.store.counts()["queued"]
        + api.service.store.counts()["processing"]
        + api.service.store.counts()["completed"]
        == 2
    )


def test_another_tenants_job_is_not_found_on_every_endpoint(api: Api) -> None:
    with api.client() as owner:
        job_id = submit(owner).json()["job_id"]
        api.wait(job_id)
    calls = [
        ("GET", "/v1/jobs/{}", None),
        ("GET", "/v1/transcripts/{}", None),
        ("GET", "/v1/analysis/{}", None),
        ("POST", "/v1/jobs/{}/questions", {"questions": [{"question": "Why?"}]}),
        (
            "POST",
            "/v1/chat/completions",
            {"model": "m", "messages": [{"role": "user", "content": "{{ transcript }}"}], "transcript_id": "{}"},
        ),
        ("DELETE", "/v1/jobs/{}", None),
    ]
    with api.client(api.other_key) as stranger:
        for method, path, body in calls:
            answers = []
            for target in (job_id, "job_000000000000000000000000"):
                payload = json.loads(json.dumps(body).replace("{}", target)) if body else None
                response = stranger.request(method, path.format(target), json=payload)
                assert response.status_code == 404, (method, path, response.text)
                answers.append(response.json()["error"]["code"])
            assert answers[0] == answers[1] == "job.not_found"
    with api.client() as owner:
        assert owner.get(f"/v1/jobs/{job_id}").status_code == 200


def test_authorization_schemes_scopes_and_revocation(api: Api) -> None:
    for scheme in ("", "Token", "Bearer"):
        with api.client(scheme=scheme) as client:
            assert client.get("/v1/jobs/job_x").status_code == 404, scheme
    with httpx.Client(base_url=api.url) as anonymous:
        missing = anonymous.get("/v1/jobs/job_x")
        assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
        bad = anonymous.get("/v1/jobs/job_x", headers={"authorization": "Bearer lsk_0123456789abcdef_" + "x" * 43})
        assert bad.status_code == 401 and bad.json()["error"]["code"] == "auth.unauthorized"
    keys = api.service.keys
    reader = keys.create("reader", frozenset({"insights:read"}), "qa-team")
    writer = keys.create("writer", frozenset({"ingest"}), "qa-team")
    admin = keys.create("admin", frozenset({"admin"}), "qa-team")
    with api.client(reader.key) as client:
        refused = submit(client)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "auth.forbidden"
    with api.client(writer.key) as client:
        job_id = submit(client).json()["job_id"]
        assert client.get(f"/v1/jobs/{job_id}").status_code == 403
    with api.client(admin.key) as client:
        assert client.get(f"/v1/jobs/{job_id}").status_code == 200  # same tenant, every scope
    assert keys.revoke(admin.info.id)
    with api.client(admin.key) as client:
        assert client.get(f"/v1/jobs/{job_id}").status_code == 401


def test_rate_limit_answers_429_with_retry_after(tmp_path: Path) -> None:
    with running_api(tmp_path, rate_limit_per_s=0.5, rate_limit_burst=3) as api, api.client() as client:
        statuses = [client.get("/v1/jobs/job_x").status_code for _ in range(4)]
        assert statuses[:3] == [404, 404, 404]
        limited = client.get("/v1/jobs/job_x")
        assert limited.status_code == 429 and limited.json()["error"]["code"] == "auth.rate_limited"
        assert int(limited.headers["retry-after"]) >= 1
        with api.client(api.other_key) as other:
            assert other.get("/v1/jobs/job_x").status_code == 404  # per key
        assert client.get("/healthz").status_code == 200  # health is never limited


def test_bad_input_is_refused_with_its_code_and_nothing_is_written(tmp_path: Path) -> None:
    with running_api(tmp_path, max_upload_bytes=4096) as api, api.client() as client:

        def chunks() -> Iterator[bytes]:
            for _ in range(10):
                yield b"Agent: " + b"x" * 1000 + b"\n"

        cases: list[tuple[httpx.Response, int, str, str | None]] = [
            (submit(client, "Agent: " + "x" * 5000), 413, "input.too_large", None),
            (
                client.post(
                    "/v1/transcripts", content=chunks(), headers={"content-type": "multipart/form-data; boundary=x"}
                ),
                413,
                "input.too_large",
                None,
            ),
            (
                client.post("/v1/transcripts", content=b"\x00\x01", headers={"content-type": "audio/wav"}),
                415,
                "input.unknown_format",
                None,
            ),
            (
                client.post("/v1/transcripts", files={"file": ("x.bin", b"\x89PNG\x00\x00\x00", "image/png")}),
                415,
                "input.unknown_format",
                None,
            ),
            (
                client.post("/v1/transcripts", content=b"{not json", headers={"content-type": "application/json"}),
                422,
                "input.parameter",
                "body",
            ),
            (submit(client, pipeline="everything"), 422, "input.parameter", "body.pipeline"),
            (client.post("/v1/transcripts", json={"text": CALL}), 422, "input.parameter", "body.transcript"),
            (submit(client, "Customer: hello\nCustomer: anyone?"), 422, "input.one_role", None),
            (submit(client, "   "), 422, "input.empty", None),
            (submit(client, '{"segments": [{"speaker": 3}]}'), 422, "input.invalid_transcript", None),
            (submit(client, roles="Rep=boss"), 400, "input.roles_spec", None),
            (submit(client, model="gpt-17"), 400, "input.parameter", "body.model"),
            (submit(client, prompts="v99"), 400, "input.parameter", "body.prompts"),
            (submit(client, webhook_url="ftp://example.com/x"), 400, "input.parameter", "body.webhook_url"),
            (client.post("/v1/transcripts", files={"nofile": ("a.txt", b"x")}), 400, "input.parameter", "body.file"),
            (
                client.post("/v1/transcripts", files={"file": ("a.txt", CALL.encode())}, data={"questions": "[{"}),
                400,
                "input.parameter",
                "body.questions",
            ),
        ]
        for response, status, code, field in cases:
            body = response.json()
            assert (response.status_code, body["error"]["code"]) == (status, code), response.text
            if field is not None:
                assert body["error"]["field"] == field, body
                assert field.split(".")[-1] in body["error"]["message"]
        assert client.get("/v1/analysis/job_x", params={"view": "nope"}).json()["error"]["field"] == "query.view"
    assert stored_files(api.service) == []
    assert sum(api.service.store.counts().values()) == 0


def test_a_prompt_version_is_a_name_and_lists_the_versions(api: Api) -> None:
    with api.client() as client:
        for name in ("..", ".", "../../etc", "/etc", "v5/..", "v5/../v1", "..v5", "v6 ", "v99"):
            response = submit(client, prompts=name)
            error = response.json()["error"]
            assert (response.status_code, error["code"], error["field"]) == (400, "input.parameter", "body.prompts")
            assert "v1, v2, v3, v4, v5, v6" in error["hint"], error
        assert api.wait(submit(client, prompts="v4").json()["job_id"])["status"] == "completed"
    assert stored_files(api.service) != []


def test_no_error_body_names_a_server_path(tmp_path: Path, spoken_call: Any) -> None:
    """Whatever a request names (a path as a prompt version, model, roles, id or view), and however
    the server's own files are broken, the error bodies say nothing of where it keeps its files."""
    prompts = tmp_path / "prompts"
    shutil.copytree(REPO / "llm_sentiment" / "prompts", prompts)
    (prompts / "v98").mkdir()
    (prompts / "v98" / "version.yaml").write_text("extends: v5\n")
    (prompts / "v98" / "agent_sentiment.j2").write_text("no front matter\n")  # refused when chosen
    (prompts / "v9").mkdir()
    (prompts / "v9" / "version.yaml").write_text("extends: v5\n")
    agent = (prompts / "v6" / "agent_sentiment.j2").read_text()
    (prompts / "v9" / "agent_sentiment.j2").write_text(agent.split("---\n", 2)[1].join(["---\n"] * 2) + "{{ nope }}\n")
    with running_api(tmp_path, prompts_dir=prompts) as api, api.client() as client:
        job_id = submit(client, pipeline="transcribe").json()["job_id"]
        api.wait(job_id)
        failed = submit(client, prompts="v9").json()["job_id"]  # fails rendering its agent question
        assert api.wait(failed)["error"]["code"] == "prompt.invalid"
        responses = [
            submit(client, prompts="v98"),
            client.get(f"/v1/jobs/{failed}"),
            client.get(f"/v1/analysis/{failed}"),
            client.get(f"/v2/transcript/{failed}"),
        ]
        bad = ["..", ".", "../../etc", "/etc", "../../../../etc/passwd", "v5/../..", "~", "prompts/v5", "%2e%2e"]
        chat = {"model": "m", "messages": [{"role": "user", "content": "{{ transcript }}"}]}
        for value in bad:
            responses += [
                submit(client, prompts=value),
                submit(client, model=value),
                submit(client, roles=f"{value}=agent"),
                submit(client, input_format=value),
                submit(client, webhook_url=f"file://{value}"),
                client.post("/v1/transcripts", files={"file": ("a.txt", CALL.encode())}, data={"prompts": value}),
                client.post(f"/v1/jobs/{job_id}/questions", json={"questions": [{"question": "?"}], "prompts": value}),
                client.post(f"/v1/jobs/{job_id}/questions", json={"questions": [{"question": "?"}], "model": value}),
                client.post("/v1/chat/completions", json={**chat, "model": value, "transcript_id": job_id}),
                client.post("/v1/chat/completions", json={**chat, "transcript_id": value}),
                client.get(f"/v1/analysis/{job_id}", params={"view": value}),
                client.get(f"/v1/jobs/{value}"),
                client.post("/v2/transcript", json={"audio_url": value}),
                client.post(f"/v1/read?sentiment=true&language={value}", json={"text": "Hi."}),
            ]
            with spoken_call.path.open("rb") as audio:
                responses.append(
                    client.post("/v1/audio/ingest", files={"file": ("c.wav", audio)}, data={"prompts": value})
                )
        broken = client.post("/v1/audio/ingest", files={"file": ("c.mp3", b"ID3" + bytes(500) + b"\xff\xfb" * 99)})
        responses.append(broken)
        if broken.status_code == 202:
            job = api.wait(broken.json()["job_id"], timeout_s=60)
            responses.append(client.get(f"/v1/transcripts/{job['job_id']}"))
    server_dirs = {str(p) for p in (REPO, tmp_path, Path.home(), Path(sys.prefix), Path(tempfile.gettempdir()))}
    assert "agent_sentiment.j2" in responses[0].text and "agent_sentiment.j2" in responses[1].text  # still useful
    leaks = [(r.request.method, str(r.request.url), r.text) for r in responses if any(d in r.text for d in server_dirs)]
    assert leaks == []


def test_webhooks_to_private_addresses_need_the_setting(tmp_path: Path) -> None:
    with running_api(tmp_path, webhook_allow_private=False) as api, api.client() as client:
        refused = submit(client, webhook_url="http://127.0.0.1:9/hook")
        assert refused.status_code == 400 and refused.json()["error"]["field"] == "body.webhook_url"
        assert "non-public" in refused.json()["error"]["message"]
    assert stored_files(api.service) == []


def test_failed_job_records_its_error_code(tmp_path: Path) -> None:
    fake = FakeLLM(respond=schema_answer)
    with running_api(tmp_path, llm=fake, job_max_attempts=2) as api, api.client() as client:
        fake.enqueue(InvalidAnswerError("customer_sentiment: no valid answer"))
        failed = api.wait(submit(client).json()["job_id"])
        assert failed["status"] == "error" and failed["error"]["code"] == "llm.invalid_answer"
        analysis = client.get(f"/v1/analysis/{failed['job_id']}")
        assert analysis.status_code == 409 and analysis.json()["error"]["code"] == "job.failed"

        fake.enqueue(ProviderUnavailableError("primary: down")).enqueue(ProviderUnavailableError("primary: down"))
        down = api.wait(submit(client, CALL + "\nRep: One more thing.").json()["job_id"])
        assert down["status"] == "error" and down["error"]["code"] == "llm.unavailable" and down["attempts"] == 2

        fake.enqueue(ProviderUnavailableError("primary: blip"))
        recovered = api.wait(submit(client, CALL + "\nRep: Anything else?").json()["job_id"])
        assert recovered["status"] == "completed" and recovered["attempts"] == 2
        events = [e["event"] for e in api.service.store.events(recovered["job_id"])]
        assert events == ["accepted", "claimed", "retry", "claimed", "completed"]


def test_delete_removes_results_and_input(api: Api) -> None:
    with api.client() as client:
        job_id = submit(client).json()["job_id"]
        api.wait(job_id)
        assert len(stored_files(api.service)) == 1
        assert client.delete(f"/v1/jobs/{job_id}").status_code == 204
        for path in (f"/v1/jobs/{job_id}", f"/v1/transcripts/{job_id}", f"/v1/analysis/{job_id}"):
            assert client.get(path).status_code == 404
        assert client.delete(f"/v1/jobs/{job_id}").status_code == 404
    assert stored_files(api.service) == []
    assert api.service.store.events(job_id) == []


PHRASE = "the zebra surcharge on invoice 88213"


def echo_phrase(request: LLMRequest) -> str:
    """Answers about the call with the phrase quote it (every string is the phrase), as a model's do."""
    answer = schema_answer(request)
    return answer.replace('"ok"', json.dumps(PHRASE)) if any(PHRASE in m.content for m in request.messages) else answer


def _inflated(data: bytes) -> Iterator[bytes]:
    """Whatever decompresses from each place a zlib stream could start (diskcache stores compressed JSON)."""
    view = memoryview(data)
    for match in re.finditer(rb"\x78[\x01\x5e\x9c\xda]", data):
        try:
            yield zlib.decompressobj().decompress(view[match.start() :], 1 << 20)
        except zlib.error:
            continue


def recoverable(phrase: str, *roots: Path) -> list[str]:
    """Files under ``roots`` (databases, their -wal files, blobs, caches) from which ``phrase`` can be read."""
    needle = phrase.encode()
    found = []
    for root in roots:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            data = path.read_bytes()
            if needle in data or any(needle in text for text in _inflated(data)):
                found.append(str(path))
    return found


@contextmanager
def call_with_phrase(tmp_path: Path) -> Iterator[tuple[Api, str, list[Path]]]:
    """A completed job whose transcript, analysis, cached answers and questions all hold PHRASE."""
    caches = [tmp_path / "answers", tmp_path / "transcripts"]
    with running_api(
        tmp_path,
        llm=FakeLLM(respond=echo_phrase),
        answer_cache=caches[0],
        cache=True,
        transcript_cache_path=caches[1],
    ) as api:
        with api.client() as client:
            kept = submit(client).json()["job_id"]  # its rows and entries share pages with the deleted call's
            job_id = submit(client, f"{CALL}\nCaller: And {PHRASE}.").json()["job_id"]
            assert api.wait(kept)["status"] == api.wait(job_id)["status"] == "completed"
            asked = client.post(f"/v1/jobs/{job_id}/questions", json={"questions": [{"question": "What else?"}]})
            assert asked.status_code == 200 and PHRASE in asked.text
        # Into the database files, as SQLite's automatic checkpoints do on a busy server.
        for database in (tmp_path / "data" / "jobs.db", caches[0] / "cache.db"):
            with closing(sqlite3.connect(database)) as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        roots = [tmp_path / "data", *caches]
        assert recoverable(PHRASE, *roots)  # the check finds what is there
        yield api, job_id, roots


def test_delete_leaves_nothing_of_the_call_on_disk(tmp_path: Path) -> None:
    with call_with_phrase(tmp_path) as (api, job_id, roots), api.client() as client:
        assert client.delete(f"/v1/jobs/{job_id}").status_code == 204
        assert recoverable(PHRASE, *roots) == []
        assert len(api.service.caches[0]) > 0  # the other call's answers stay
    # Deleted rows are zeroed, not just unlinked (this machine's SQLite has it on by default; not every build).
    with api.service.store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
    for cache in roots[1:]:
        with closing(sqlite3.connect(cache / "cache.db")) as conn:
            assert conn.execute("SELECT value FROM Settings WHERE key = 'sqlite_secure_delete'").fetchall() == [(1,)]


def test_retention_leaves_nothing_of_the_call_on_disk(tmp_path: Path) -> None:
    with call_with_phrase(tmp_path) as (api, job_id, roots):
        job = api.service.store.get(job_id)
        assert job is not None
        aged = time.time() - 3600
        os.utime(api.service.blobs.path(job.input_sha256), (aged, aged))
        swept = api.service.maintenance.sweep(now=time.time() + 169 * 3600)
        assert job_id in swept["expired"]
        assert recoverable(PHRASE, *roots) == []


def test_delete_while_running_stops_the_job(tmp_path: Path) -> None:
    with running_api(tmp_path, llm=FakeLLM(respond=schema_answer, delay_s=0.2)) as api, api.client() as client:
        job_id = submit(client).json()["job_id"]
        wait_for(lambda: client.get(f"/v1/jobs/{job_id}").json()["stage"] == "analyzing", 30, "analysis to start")
        assert client.delete(f"/v1/jobs/{job_id}").status_code == 204
        asked = len(api.llm.requests)
        time.sleep(1.0)
        # Stops at the next step: the one in flight may ask twice (a segment batch without logprobs
        # is asked again for confidences), never the dozen a whole analysis asks.
        assert len(api.llm.requests) <= asked + 2
        assert client.get(f"/v1/jobs/{job_id}").status_code == 404


def test_questions_over_a_completed_job(api: Api) -> None:
    with api.client() as client:
        job_id = submit(client, pipeline="transcribe").json()["job_id"]
        api.wait(job_id)
        response = client.post(
            f"/v1/jobs/{job_id}/questions",
            json={
                "questions": [{"question": "What was charged twice?", "context": "billing", "answer_format": "short"}]
            },
        )
        assert response.status_code == 200, response.text
        body = response.json()
        empty = client.post(f"/v1/jobs/{job_id}/questions", json={"questions": []})
    answer = body["answers"][0]
    assert answer["id"] == "q1" and answer["question"] == "What was charged twice?"
    assert answer["quotes"] and answer["quotes"][0]["text"] in CALL
    assert body["provenance"][0]["question_id"] == "q1"
    prompt = api.llm.requests[-1].messages[-1].content
    assert "What was charged twice?" in prompt and "billing" in prompt
    assert empty.status_code == 422 and empty.json()["error"]["field"] == "body.questions"


class _Receiver:
    def __init__(self) -> None:
        self.bodies: list[tuple[bytes, str]] = []
        self.failures = 1


@contextmanager
def webhook_receiver() -> Iterator[tuple[str, _Receiver]]:
    """Answers 500 to the first delivery (to exercise the retry), then 200."""
    state = _Receiver()

    class Handler(QuietHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server hook name
            body = self.rfile.read(int(self.headers["content-length"]))
            if state.failures:
                state.failures -= 1
                self.reply(500)
            else:
                state.bodies.append((body, self.headers[SIGNATURE_HEADER]))
                self.reply(200)

    with serve_handler(Handler, "/hooks/calls") as url:
        yield url, state


def test_webhook_is_signed_and_retried(tmp_path: Path) -> None:
    with (
        webhook_receiver() as (url, receiver),
        running_api(tmp_path, webhook_backoff_s=0.2) as api,
        api.client() as client,
    ):
        job_id = submit(client, pipeline="transcribe", webhook_url=url).json()["job_id"]
        api.wait(job_id)
        wait_for(lambda: receiver.bodies, 15, "the webhook")
        deliveries = wait_for(
            lambda: (rows := api.service.store.webhooks(job_id))[0]["status"] == "delivered" and rows, 15, "delivered"
        )
    body, signature = receiver.bodies[0]
    secret = api.service.store.tenant_secret("qa-team")
    assert secret and verify(secret, signature, body)
    assert not verify(secret, signature, body + b" ")
    assert json.loads(body) == {
        "event": "job.completed",
        "job_id": job_id,
        "status": "completed",
        "pipeline": "transcribe",
        "error": None,
    }
    assert deliveries[0]["status"] == "delivered" and deliveries[0]["attempts"] == 2


@contextmanager
def hanging_receiver() -> Iterator[tuple[str, list[int]]]:
    """Reads each webhook and never answers; yields its URL and how many requests hang at each arrival."""
    release = threading.Event()
    open_now: list[int] = [0]
    seen: list[int] = []
    lock = threading.Lock()

    class Handler(QuietHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server hook name
            self.rfile.read(int(self.headers["content-length"]))
            with lock:
                open_now[0] += 1
                seen.append(open_now[0])
            release.wait(60)
            with lock:
                open_now[0] -= 1

    with serve_handler(Handler, "/hooks/hang") as url:
        try:
            yield url, seen
        finally:
            release.set()


def test_a_tenant_whose_receiver_hangs_does_not_delay_another_tenants_webhook(tmp_path: Path) -> None:
    with (
        hanging_receiver() as (hang_url, hanging),
        webhook_receiver() as (fast_url, fast),
        running_api(tmp_path, webhook_timeout_s=5, webhook_backoff_s=60) as api,
    ):
        fast.failures = 0
        with api.client() as slow_tenant:
            slow_jobs = [
                submit(slow_tenant, f"{CALL}\nRep: {n}", pipeline="transcribe", webhook_url=hang_url).json()["job_id"]
                for n in range(4)
            ]
        for job_id in slow_jobs:
            api.wait(job_id)
        wait_for(lambda: hanging, 10, "the first hanging delivery")
        with api.client(api.other_key) as fast_tenant:
            started = time.monotonic()
            job_id = submit(fast_tenant, pipeline="transcribe", webhook_url=fast_url).json()["job_id"]
            wait_for(lambda: fast.bodies, 30, "the other tenant's webhook")
            waited = time.monotonic() - started
        pending = [row for j in slow_jobs for row in api.service.store.webhooks(j) if row["status"] == "pending"]
    assert json.loads(fast.bodies[0][0])["job_id"] == job_id
    assert waited < 4.0  # one hanging delivery alone held the queue for webhook_timeout_s (5 s) each
    assert len(pending) == 4 and max(hanging) == 1  # the slow tenant holds one delivery at a time


def test_health_readiness_metrics_and_docs(api: Api) -> None:
    admin = api.service.keys.create("scraper", frozenset({"admin"}), "ops")
    with api.client() as client:
        job_id = submit(client).json()["job_id"]
        api.wait(job_id)
        with api.client(api.other_key) as other:
            other_job = submit(other, pipeline="transcribe", webhook_url="http://127.0.0.1:9/hooks/other").json()
            api.wait(other_job["job_id"], key=api.other_key)
        assert client.get("/healthz").json()["status"] == "ok"
        ready = client.get("/readyz").json()
        assert ready["status"] == "ready" and set(ready["checks"]) == {"database", "queue", "model"}
        refused = client.get("/metrics")  # a tenant's key: ingest, insights:read
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "auth.forbidden"
        with httpx.Client(base_url=api.url) as anonymous:
            assert anonymous.get("/metrics").status_code == 401
        with api.client(admin.key) as scraper:
            metrics = scraper.get("/metrics").text
        docs = client.get("/docs").text
        assert "/static-offline-docs/swagger-ui-bundle.js" in docs  # no CDN: the service runs offline
        assert client.get("/static-offline-docs/swagger-ui-bundle.js").status_code == 200
        spec = client.get("/openapi.json").json()
    assert 'llm_sentiment_jobs{state="completed"} 2.0' in metrics  # counts over every tenant, nothing per tenant
    keys = [info.id for info in api.service.keys.list()]
    for tenant_data in ("qa-team", "other-team", job_id, other_job["job_id"], "hooks/other", *keys):
        assert tenant_data not in metrics
    assert 'llm_sentiment_stage_seconds_count{stage="analyzing"} 1.0' in metrics
    assert 'llm_sentiment_llm_tokens_total{kind="prompt",model="fake"}' in metrics
    assert 'llm_sentiment_llm_requests_total{cache="miss",model="fake"}' in metrics
    assert 'llm_sentiment_http_request_seconds_count{method="POST",route="/v1/transcripts",status="202"} 2.0' in metrics
    assert {"/v1/transcripts", "/v1/jobs/{job_id}", "/v1/chat/completions"} <= set(spec["paths"])
    assert "multipart/form-data" in spec["paths"]["/v1/transcripts"]["post"]["requestBody"]["content"]


def test_the_service_on_postgresql(tmp_path: Path) -> None:
    with postgres_server() as url, running_api(tmp_path, database_url=url) as api, api.client() as client:
        job_id = submit(client, questions=[{"question": "Why did they call?"}]).json()["job_id"]
        assert api.wait(job_id)["status"] == "completed"
        assert client.get(f"/v1/analysis/{job_id}").json()["answers"][0]["id"] == "q1"
        with api.client(api.other_key) as stranger:
            assert stranger.get(f"/v1/jobs/{job_id}").status_code == 404
        assert api.service.store.engine.dialect.name == "postgresql"


def test_jobs_are_listed_per_tenant_newest_first(api: Api) -> None:
    with api.client() as client:
        mine = [submit(client, f"{CALL}\nRep: {n}", pipeline="transcribe").json()["job_id"] for n in range(5)]
        for job_id in mine:
            api.wait(job_id)
        first = client.get("/v1/jobs", params={"limit": 3}).json()
        rest = client.get("/v1/jobs", params={"limit": 3, "before": first["next_before"]}).json()
        done = client.get("/v1/jobs", params={"status": "completed"}).json()
        assert client.get("/v1/jobs", params={"status": "finished"}).status_code == 422
    with api.client(api.other_key) as stranger:
        assert stranger.get("/v1/jobs").json() == {"jobs": [], "next_before": None}
        assert stranger.get("/v1/jobs", params={"before": mine[-1]}).json()["jobs"] == []
    listed = [j["job_id"] for j in first["jobs"] + rest["jobs"]]
    assert listed == mine[::-1] and rest["next_before"] is None
    assert {j["job_id"] for j in done["jobs"]} == set(mine)


def _unsure_negative(request: LLMRequest) -> str:
    """Every label (the role questions' and each batch line's) negative at confidence 0.3, without logprobs:
    placed at -0.05 - 0.95 * 0.3 = -0.335 in the native band below."""
    answer = json.loads(schema_answer(request))
    unsure = {"label": "negative", "confidence": 0.3}
    if "label" in answer:
        return json.dumps(unsure)
    if answer and all(isinstance(v, dict) and "label" in v for v in answer.values()):
        return json.dumps(dict.fromkeys(answer, unsure))
    return json.dumps(answer)


def test_insights_are_labeled_by_the_apis_bands_not_the_services(tmp_path: Path) -> None:
    llm = FakeLLM(respond=_unsure_negative)
    with running_api(tmp_path, llm, negative_threshold=-0.05) as api, api.client() as client:
        job_id = submit(client).json()["job_id"]
        api.wait(job_id)
        native = client.get(f"/v1/analysis/{job_id}").json()
        insights = client.get(f"/v1/insights/{job_id}", params={"type": "sentiment"}).json()["sentiment"]
        as_view = client.get(f"/v1/analysis/{job_id}", params={"view": "insights"}).json()["sentiment"]
    assert (native["overall"]["label"], native["overall"]["score"]) == ("negative", -0.335)
    assert {s["label"] for s in native["segments"]} == {"negative"}
    for sentiment in (insights, as_view):
        assert (sentiment["overall_label"], sentiment["overall_score"]) == ("neutral", -0.335)
        assert {(r["label"], r["score"]) for r in sentiment["segments"]} == {("neutral", -0.335)}
