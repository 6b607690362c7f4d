"""The vendors' SDKs and the LLM-gateway recipe, unchanged, against a real server on loopback.

AssemblyAI's SDK uploads real speech (espeak-ng) that the real Whisper tiny.en transcribes; the
FakeLLM stands in for the analysis and the gateway's answers (the HTTP logic is what is tested).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import assemblyai as aai
import httpx
import pytest
from deepgram import DeepgramClient
from deepgram.core.api_error import ApiError
from deepgram.environment import DeepgramClientEnvironment

from tests.integration.recipe import recipe_script
from tests.integration.test_api import running_api, submit

TEXT = (
    "Hi. Thank you for calling Premier Phone Services.\n"
    "I have been waiting for an hour and nobody has fixed my phone. This is terrible.\n"
    "I am sorry. I will send a replacement today, free of charge.\n"
    "That is great, thank you so much."
)


def test_assemblyai_sdk_transcribes_with_sentiment(
    tmp_path: Path, spoken_call: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_api(tmp_path, cache=True, transcript_cache_path=tmp_path / "transcripts") as api:
        monkeypatch.setattr(aai.settings, "base_url", api.url)
        monkeypatch.setattr(aai.settings, "api_key", api.key)
        monkeypatch.setattr(aai.settings, "polling_interval", 0.5)
        config = aai.TranscriptionConfig(sentiment_analysis=True, speaker_labels=True)
        transcript = aai.Transcriber().transcribe(str(spoken_call.path), config=config)

        assert transcript.status == aai.TranscriptStatus.completed, transcript.error
        assert transcript.id is not None and transcript.id.startswith("job_")
        assert "internet" in (transcript.text or "").lower()
        assert transcript.utterances and {u.speaker for u in transcript.utterances} == {"Channel 0", "Channel 1"}
        results = transcript.sentiment_analysis
        assert results, "no sentiment_analysis_results"
        print("\nAssemblyAI SDK:", transcript.id, transcript.status.value, f"{len(results)} sentiment results")
        for r in results:
            assert isinstance(r.sentiment, aai.SentimentType) and 0 <= r.confidence <= 1
            assert 0 <= r.start <= r.end <= round(spoken_call.duration * 1000) + 500
            assert r.speaker in ("Channel 0", "Channel 1")
            print(f"  [{r.start:>5}-{r.end:>5} ms] {r.speaker}: {r.sentiment.value} {r.confidence:.2f} {r.text!r}")
        job = api.service.store.get(transcript.id)
        assert job is not None and job.kind == "audio" and job.pipeline == "full-analysis"

        # The SDK reports our errors as AssemblyAI's: an external audio_url is refused, never fetched.
        with pytest.raises(aai.types.TranscriptError, match="never fetched"):
            aai.Transcriber().transcribe("https://example.com/call.mp3", config=config)


def test_assemblyai_errors_come_in_assemblyais_shape(tmp_path: Path, spoken_call: Any) -> None:
    with running_api(tmp_path) as api, api.client(scheme="") as client:
        for url in ("https://example.com/call.mp3", "file:///etc/passwd", f"{api.url}/v2/upload/upl_{'0' * 32}"):
            response = client.post("/v2/transcript", json={"audio_url": url})
            assert response.status_code == 400 and set(response.json()) == {"error"}, response.text
        refused = client.post("/v2/upload", content=b"Agent: hello\nCustomer: hi\n")
        assert refused.status_code == 415 and "not a supported recording" in refused.json()["error"]
        upload_url = client.post("/v2/upload", content=spoken_call.path.read_bytes()).json()["upload_url"]
        assert upload_url.startswith(f"{api.url}/v2/upload/upl_")
        with api.client(api.other_key, scheme="") as other:  # another tenant cannot use the upload
            assert other.post("/v2/transcript", json={"audio_url": upload_url}).status_code == 400
        created = client.post("/v2/transcript", json={"audio_url": upload_url, "language_code": "en_us"})
        assert created.status_code == 200 and created.json()["status"] == "queued"
        assert client.get("/v2/transcript/job_unknown").json() == {"error": "no job 'job_unknown'"}
        with httpx.Client(base_url=api.url) as anonymous:
            unauthorized = anonymous.get(f"/v2/transcript/{created.json()['id']}")
            assert unauthorized.status_code == 401 and set(unauthorized.json()) == {"error"}
        malformed = client.post("/v2/transcript", json={"sentiment_analysis": True})
        assert malformed.status_code == 400 and "audio_url" in malformed.json()["error"]


def _deepgram(url: str, key: str) -> DeepgramClient:
    environment = DeepgramClientEnvironment(base=url, production=url.replace("http", "ws"), agent=url, agent_rest=url)
    return DeepgramClient(api_key=key, environment=environment)


def test_deepgram_sdk_reads_sentiment(tmp_path: Path) -> None:
    with running_api(tmp_path) as api:
        response = _deepgram(api.url, api.key).read.v1.text.analyze(
            request={"text": TEXT}, sentiment=True, language="en"
        )
        sentiments = response.results.sentiments
        assert sentiments is not None and sentiments.segments and sentiments.average is not None
        print("\nDeepgram SDK: average", sentiments.average.sentiment, sentiments.average.sentiment_score)
        words = 0
        for segment in sentiments.segments:
            assert segment.sentiment in ("positive", "neutral", "negative")
            assert segment.sentiment_score is not None and -1 <= segment.sentiment_score <= 1
            assert segment.start_word == words and segment.end_word is not None
            words = segment.end_word + 1
            print(f"  words {segment.start_word}-{segment.end_word}: {segment.sentiment} {segment.text!r}")
        assert words == len(TEXT.split())
        body = response.metadata.model_dump()
        assert body["language"] == "en" and body["sentiment_info"]["input_tokens"] > 0


def test_deepgram_errors_are_deepgrams(tmp_path: Path) -> None:
    with running_api(tmp_path, read_max_tokens=100) as api, api.client(scheme="Token") as client:
        cases = [
            ("sentiment=true", {"text": TEXT}, "Failed to deserialize query parameters: missing field `language`"),
            (
                "sentiment=true&language=es",
                {"text": TEXT},
                "Request specified unsupported language: es. Only English is supported.",
            ),
        ]
        for query, body, message in cases:
            response = client.post(f"/v1/read?{query}", json=body)
            assert response.status_code == 400
            assert response.json()["err_code"] == "INVALID_QUERY_PARAMETER" and response.json()["err_msg"] == message
            assert response.json()["request_id"]
        too_long = client.post("/v1/read?sentiment=true&language=en", json={"text": TEXT * 20})
        assert too_long.status_code == 400 and too_long.json()["err_code"] == "TOKEN_LIMIT_EXCEEDED"
        fetch = client.post("/v1/read?sentiment=true&language=en", json={"url": "https://example.com/a.txt"})
        assert fetch.status_code == 400 and "never fetches" in fetch.json()["err_msg"]
        with pytest.raises(ApiError) as raised:
            _deepgram(api.url, "not-a-key").read.v1.text.analyze(request={"text": TEXT}, sentiment=True, language="en")
        assert raised.value.status_code == 401 and raised.value.body["err_code"] == "INVALID_AUTH"


def test_llm_gateway_recipe_runs_unchanged(tmp_path: Path, spoken_call: Any) -> None:
    """The recipe's own script, read from the vendor's page; only its base URLs, key and audio path are replaced."""
    with running_api(tmp_path, cache=True, transcript_cache_path=tmp_path / "transcripts") as api:
        script = recipe_script()
        for vendor, ours in (
            ("https://api.assemblyai.com", api.url),
            ("https://llm-gateway.assemblyai.com", api.url),
            ('API_KEY = "YOUR_API_KEY"', f'API_KEY = "{api.key}"'),
            ('audio_file_path = "./meeting.mp3"', f'audio_file_path = "{spoken_call.path}"'),
        ):
            assert vendor in script
            script = script.replace(vendor, ours)
        (tmp_path / "recipe.py").write_text(script, encoding="utf-8")
        done = subprocess.run(
            [sys.executable, str(tmp_path / "recipe.py")], capture_output=True, text=True, timeout=300, check=False
        )
        assert done.returncode == 0, done.stderr
        print("\nrecipe:", done.stdout)
        assert "Transcription complete." in done.stdout and "--- LLM Responses ---\n\nA plain answer." in done.stdout
        asked = api.llm.requests[-1].messages[-1].content
        assert "{{ transcript }}" not in asked and "internet" in asked.lower()  # the job's transcript, substituted
        assert asked.count("Question:") == 5


def test_vendor_routes_do_not_change_native_errors(tmp_path: Path) -> None:
    with running_api(tmp_path) as api, api.client() as client:
        response = submit(client, transcript="")
        assert "error" in response.json() and "code" in response.json()["error"]
