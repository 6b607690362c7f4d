"""Recordings, analysis views and the insights API over HTTP: a real uvicorn server, real speech
(espeak-ng) transcribed by the real Whisper tiny.en, the FakeLLM for the analysis."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from llm_sentiment.llm.testing import FakeLLM, schema_answer
from tests.integration.test_api import recoverable, running_api, stored_files, submit


def ingest(client: httpx.Client, path: Path, headers: dict[str, str] | None = None, **fields: str) -> httpx.Response:
    with path.open("rb") as f:
        return client.post(
            "/v1/audio/ingest", files={"file": (path.name, f, "audio/wav")}, data=fields, headers=headers or {}
        )


def audio_api(tmp_path: Path, **overrides: Any) -> Any:
    # The transcript cache is keyed by the audio's hash: the second job over one recording skips Whisper.
    return running_api(tmp_path, cache=True, transcript_cache_path=tmp_path / "transcripts", **overrides)


def test_a_recording_is_transcribed_analysed_and_viewed(tmp_path: Path, spoken_call: Any) -> None:
    with audio_api(tmp_path) as api, api.client() as client:
        key = {"Idempotency-Key": "call-1"}
        response = ingest(client, spoken_call.path, key, pipeline="full-analysis", channels="agent,customer")
        assert response.status_code == 202, response.text
        job = response.json()
        assert job["input"]["kind"] == "audio" and job["input"]["name"] == "call.wav"
        replay = ingest(client, spoken_call.path, key, pipeline="full-analysis", channels="agent,customer")
        assert replay.json()["job_id"] == job["job_id"] and replay.headers["idempotent-replayed"] == "true"
        done = api.wait(job["job_id"], timeout_s=180)
        assert done["status"] == "completed", done
        with api.client(api.service.keys.create("scraper", frozenset({"admin"}), "ops").key) as scraper:
            assert 'stage="transcribing"' in scraper.get("/metrics").text  # the worker's stage latency
        transcript = client.get(f"/v1/transcripts/{job['job_id']}").json()["transcript"]
        assert transcript["source_format"] == "audio" and transcript["role_mapping"]["source"] == "channel"
        customer = " ".join(s["text"] for s in transcript["segments"] if s["role"] == "customer").lower()
        agent = " ".join(s["text"] for s in transcript["segments"] if s["role"] == "agent").lower()
        assert "internet" in customer and "support" in agent

        url = f"/v1/analysis/{job['job_id']}"
        aai = client.get(url, params={"view": "assemblyai"}).json()
        assert aai["id"] == job["job_id"] and aai["status"] == "completed" and aai["audio_url"] == "call.wav"
        results = aai["sentiment_analysis_results"]
        assert results and {r["sentiment"] for r in results} <= {"POSITIVE", "NEUTRAL", "NEGATIVE"}
        assert all(isinstance(r["start"], int) and r["start"] <= r["end"] for r in results)
        assert {r["speaker"] for r in results} == {"Channel 0", "Channel 1"}
        dg = client.get(url, params={"view": "deepgram"}).json()
        assert dg["metadata"]["request_id"] == job["job_id"] and dg["results"]["sentiments"]["segments"]
        insights = client.get(url, params={"view": "insights"}).json()
        assert insights["job_id"] == job["job_id"] and insights["sentiment"]["time_basis"] == "measured"
        assert client.get(url, params={"view": "nonsense"}).json()["error"]["field"] == "query.view"

        customer_minutes = client.get(
            f"/v1/insights/{job['job_id']}",
            params={"type": "sentiment", "speaker": "Customer", "granularity": "minute"},
        ).json()
        assert set(customer_minutes) == {"job_id", "pipeline", "sentiment"}
        assert customer_minutes["sentiment"]["granularity"] == "minute"

        # The same recording again, transcript only: the cached transcript, and no insights for it.
        again = ingest(client, spoken_call.path, pipeline="transcribe")
        assert api.wait(again.json()["job_id"], timeout_s=60)["status"] == "completed"
        refused = client.get(f"/v1/insights/{again.json()['job_id']}")
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "job.not_analyzed"
        assert len(stored_files(api.service)) == 1  # stored once per content hash


def test_deleting_a_recordings_job_evicts_its_cached_transcript(tmp_path: Path, spoken_call: Any) -> None:
    with audio_api(tmp_path) as api, api.client() as client:
        job_id = ingest(client, spoken_call.path, pipeline="transcribe").json()["job_id"]
        assert api.wait(job_id, timeout_s=180)["status"] == "completed"
        segments = client.get(f"/v1/transcripts/{job_id}").json()["transcript"]["segments"]
        word = max((w for s in segments for w in s["text"].split()), key=len)
        assert recoverable(word, tmp_path / "transcripts")
        assert client.delete(f"/v1/jobs/{job_id}").status_code == 204
        assert recoverable(word, tmp_path / "data", tmp_path / "transcripts") == []


def test_wrong_content_is_refused_with_the_audio_error_and_nothing_is_kept(tmp_path: Path) -> None:
    samples = {
        "notes.wav": (b"Agent: hello\nCustomer: hi\n", 415, "audio.unsupported_format"),
        "list.m3u8": (b"#EXTM3U\n#EXT-X-VERSION:3\nhttp://example.com/a.ts\n", 415, "audio.playlist"),
        "photo.wav": (b"\x89PNG\r\n\x1a\n" + bytes(200), 415, "audio.unsupported_format"),
        "empty.wav": (b"", 422, "input.empty"),
        "big.wav": (b"RIFF" + bytes(4) + b"WAVE" + bytes(3000), 413, "input.too_large"),
    }
    with running_api(tmp_path, max_audio_mb=0.002) as api, api.client() as client:
        for name, (data, status, code) in samples.items():
            response = client.post("/v1/audio/ingest", files={"file": (name, data)}, data={"pipeline": "transcribe"})
            assert (response.status_code, response.json()["error"]["code"]) == (status, code), (name, response.text)
        assert (
            "photo.wav is not a supported recording (a PNG image)"
            in client.post("/v1/audio/ingest", files={"file": ("photo.wav", samples["photo.wav"][0])}).json()["error"][
                "message"
            ]
        )
        wav = b"RIFF" + bytes(4) + b"WAVE" + bytes(100)
        bad_fields = [
            ({"channels": "agent,agent"}, 400, "body.channels"),
            ({"pipeline": "everything"}, 422, "body.pipeline"),
            ({"language": "english please"}, 422, "body.language"),
            ({"model": "no-such-model"}, 400, "body.model"),
        ]
        for fields, status, field in bad_fields:
            response = client.post("/v1/audio/ingest", files={"file": ("call.wav", wav)}, data=fields)
            assert (response.status_code, response.json()["error"]["field"]) == (status, field), response.text
        missing = client.post("/v1/audio/ingest", files={"other": ("call.wav", wav)})
        assert missing.status_code == 400 and missing.json()["error"]["field"] == "body.file"
        as_json = client.post("/v1/audio/ingest", json={"file": "call.wav"})
        assert as_json.status_code == 415
        assert stored_files(api.service) == []  # nothing half-written: no blob, no temporary file
        assert client.get("/v1/jobs").json()["jobs"] == []


def _insights(client: httpx.Client, job_id: str, **params: str) -> httpx.Response:
    return client.get(f"/v1/insights/{job_id}", params=params)


def test_insights_answers_with_the_seed_apis_shape_and_codes(tmp_path: Path) -> None:
    with running_api(tmp_path) as api, api.client() as client:
        job_id = submit(client).json()["job_id"]
        api.wait(job_id)
        body = _insights(client, job_id).json()
        assert set(body) >= {"job_id", "pipeline", "sentiment", "behavioral", "summary", "recommendations"}
        assert body["job_id"] == job_id and body["pipeline"] == "full-analysis"
        sentiment = body["sentiment"]
        assert sentiment["overall_label"] in ("positive", "neutral", "negative")
        assert -1 <= sentiment["overall_score"] <= 1 and sentiment["trend"] in ("improving", "stable", "declining")
        assert set(sentiment["segments"][0]) == {"segment_id", "speaker", "start", "end", "label", "score"}
        assert set(body["behavioral"]) >= {
            "silence_ratio",
            "interruption_count",
            "agent_talk_ratio",
            "customer_talk_ratio",
            "average_response_time_seconds",
        }
        customer = _insights(client, job_id, type="sentiment", speaker="Customer").json()
        assert {s["speaker"] for s in customer["sentiment"]["segments"]} == {"Customer"}
        assert "behavioral" not in customer and "summary" not in customer
        call = _insights(client, job_id, granularity="call").json()["sentiment"]["segments"]
        assert len(call) == 1

        for params, field in (
            ({"type": "emotions"}, "query.type"),
            ({"granularity": "hour"}, "query.granularity"),
            ({"speaker": "Supervisor"}, "query.speaker"),
        ):
            response = _insights(client, job_id, **params)
            assert (response.status_code, response.json()["error"]["field"]) == (400, field)
        assert _insights(client, "job_unknown").status_code == 404
        with api.client(api.other_key) as other:
            assert _insights(other, job_id).json()["error"]["code"] == "job.not_found"
        with httpx.Client(base_url=api.url) as anonymous:
            assert _insights(anonymous, job_id).status_code == 401
        ingest_only = api.service.keys.create("uploader", frozenset({"ingest"})).key
        with api.client(ingest_only) as uploader:
            assert _insights(uploader, job_id).json()["error"]["code"] == "auth.forbidden"
        transcribed = submit(client, pipeline="transcribe").json()["job_id"]
        api.wait(transcribed)
        assert _insights(client, transcribed).status_code == 403


def test_insights_of_a_job_still_processing_or_failed_is_404(tmp_path: Path) -> None:
    slow = FakeLLM(respond=schema_answer, delay_s=0.3)
    with running_api(tmp_path, slow) as api, api.client() as client:
        job_id = submit(client).json()["job_id"]
        early = _insights(client, job_id)
        assert (early.status_code, early.json()["error"]["code"]) == (404, "job.not_ready")
        api.wait(job_id, timeout_s=60)
    failing = FakeLLM(respond=lambda _request: "not json")
    with running_api(tmp_path / "failing", failing, max_reasks=0) as api, api.client() as client:
        job_id = submit(client).json()["job_id"]
        assert api.wait(job_id)["status"] == "error"
        failed = _insights(client, job_id)
        assert (failed.status_code, failed.json()["error"]["code"]) == (404, "job.failed")


def test_insights_rate_limit_is_429(tmp_path: Path) -> None:
    with running_api(tmp_path, rate_limit_per_s=0.01, rate_limit_burst=2) as api, api.client() as client:
        codes = [_insights(client, "job_x").status_code for _ in range(3)]
        assert codes == [404, 404, 429]
