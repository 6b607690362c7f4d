"""The one place configuration is read: environment (``LLM_SENTIMENT_*``), then defaults."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE = Path(__file__).resolve().parent
"""Where the shipped data lives: prompts/, configs/models.yaml, evals/thresholds.yaml (package data)."""


def _default_home() -> Path:
    return Path(platformdirs.user_cache_dir("llm-sentiment", appauthor=False))


def _default_threads() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


class AnalysisOptions(BaseModel):
    """What an analysis needs, handed down from ``Settings`` at a composition root (never read here)."""

    model_config = ConfigDict(frozen=True)

    model: str
    max_reasks: int
    max_quotes: int
    segment_batch_size: int
    segment_slots: bool
    split_words: int
    context_window: int
    window_overlap: float
    trend_threshold: float | None = Field(
        description="None: 0.6 for scores read from label slots, 0.3 for batch answers (each fitted on dev)."
    )
    interruption_min_overlap: float
    positive_threshold: float
    negative_threshold: float
    thresholds_given: bool = Field(description="Set in the environment: they win over a prompt version's bands.")


class SpeechOptions(BaseModel):
    """What transcription needs: the Whisper model and its decoding options, threads, the recording limits.

    (``recording.AudioOptions`` are a single request's: its model, language and channel roles.)"""

    model_config = ConfigDict(frozen=True)

    whisper_model: str
    whisper_device: Literal["auto", "cpu", "cuda"]
    whisper_beam_size: int
    language: str | None
    no_speech_threshold: float
    threads: int
    models_dir: Path
    max_audio_mb: float
    max_audio_seconds: float
    max_audio_channels: int


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LLM_SENTIMENT_", extra="ignore")

    home: Path = Field(default_factory=_default_home, description="Cache root: assembled models, LLM cache.")
    model: str = Field("local/qwen2.5-coder-1.5b", description="Model group from the router config.")
    router_config: Path = Field(PACKAGE / "configs" / "models.yaml")
    prompts_dir: Path = Field(PACKAGE / "prompts")
    prompts_version: str = "v5"
    evals_dir: Path = Field(Path("evals"), description="Eval datasets (datasets/<name>/): a checkout's evals/.")
    thresholds: Path = Field(PACKAGE / "evals" / "thresholds.yaml", description="The eval gate's minimums.")
    threads: int = Field(default_factory=_default_threads, ge=1)
    n_ctx: int = Field(8192, ge=512)
    n_batch: int = Field(512, ge=8)
    max_reasks: int = Field(2, ge=0, description="Re-asks of the same model after an invalid answer.")
    positive_threshold: float = Field(0.33, gt=0, lt=1)
    negative_threshold: float = Field(-0.33, gt=-1, lt=0)
    cache: bool = True
    cache_path: Path | None = Field(None, description="LLM answer cache directory (default: <home>/cache/llm).")
    num_retries: int | None = Field(None, ge=0, description="Overrides router_settings.num_retries.")
    timeout: float | None = Field(None, gt=0, description="Overrides router_settings.timeout (seconds).")
    max_quotes: int = Field(3, ge=1, le=10)
    interruption_min_overlap: float = Field(0.5, ge=0, description="Seconds of overlap that make an interruption.")
    segment_batch_size: int = Field(8, ge=1, le=32, description="Lines scored per per-segment sentiment question.")
    segment_slots: bool = Field(
        True,
        description="Read per-segment labels from label slots when the model can (embedded models); false asks "
        "batch questions, as other providers are asked.",
    )
    split_words: int = Field(25, ge=1, description="Turns longer than this many words are scored sentence by sentence.")
    context_tokens: int | None = Field(
        None, ge=1024, description="The model's context in tokens, for windowing long calls (default: n_ctx)."
    )
    window_overlap: float = Field(0.15, ge=0, le=0.5, description="Share of a window repeated from the one before.")
    trend_threshold: float | None = Field(
        None,
        gt=0,
        le=2,
        description="Score change that makes a trend improving/declining (default: 0.6 for segment scores read "
        "from label slots, 0.3 for batch answers).",
    )
    whisper_model: str = Field("whisper-tiny.en", description="Embedded Whisper name, or a CTranslate2 directory.")
    whisper_device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto: CUDA when available.")
    whisper_beam_size: int = Field(5, ge=1, le=10)
    language: str | None = Field(None, description="Spoken language (e.g. en); None detects it (multilingual models).")
    no_speech_threshold: float = Field(
        0.8, gt=0, le=1, description="Whisper segments likelier than this to be non-speech are dropped."
    )
    max_audio_mb: float = Field(500, gt=0, description="Largest recording accepted, in MB.")
    max_audio_seconds: float = Field(4 * 3600, gt=0, description="Longest recording accepted, counted while decoding.")
    max_audio_channels: int = Field(2, ge=1, le=2, description="Channels accepted (one per party at most).")
    transcript_cache_path: Path | None = Field(
        None, description="Transcript cache directory (default: <home>/cache/transcripts)."
    )

    # HTTP service (llm-sentiment serve / worker)
    data_dir: Path | None = Field(None, description="Job database and stored inputs (default: <home>/data).")
    database_url: str | None = Field(None, description="SQLAlchemy URL (default: SQLite in data_dir).")
    broker_url: str | None = Field(None, description="redis://... sends jobs through Celery to `llm-sentiment worker`.")
    max_upload_bytes: int = Field(50 << 20, ge=1024, description="Largest request body accepted (413 above).")
    rate_limit_per_s: float = Field(20.0, ge=0, description="Requests per second per API key; 0 disables the limit.")
    rate_limit_burst: int = Field(100, ge=1, description="Requests a key may make at once before the rate applies.")
    retention_hours: float = Field(
        168.0, gt=0, description="Finished jobs, their results and inputs are deleted after."
    )
    job_lease_s: float = Field(60.0, ge=1, description="A worker that stops renewing a job for this long loses it.")
    job_max_attempts: int = Field(3, ge=1, description="Runs of one job (worker lost or provider down) before error.")
    job_retry_delay_s: float = Field(30.0, ge=0, description="Wait before re-running a job after a provider error.")
    sweep_interval_s: float = Field(5.0, gt=0, description="How often expired leases, retention and dispatch run.")
    webhook_allow_private: bool = Field(False, description="Allow webhooks to loopback/private/link-local addresses.")
    webhook_max_attempts: int = Field(6, ge=1)
    webhook_timeout_s: float = Field(10.0, gt=0)
    webhook_backoff_s: float = Field(2.0, gt=0, description="First retry delay; doubles per attempt (max 1 hour).")
    webhook_concurrency: int = Field(
        4, ge=1, le=64, description="Webhooks delivered at once per node (at most one per tenant)."
    )
    api_llm_threads: int = Field(2, ge=1, description="Concurrent LLM requests served by questions/chat endpoints.")
    api_llm_queue: int = Field(32, ge=1, description="Requests of those endpoints that may wait, in all (429 above).")
    api_llm_queue_per_key: int = Field(8, ge=1, description="Requests of those endpoints one key may have waiting.")
    read_max_tokens: int = Field(
        4000, ge=100, description="Largest text `POST /v1/read` scores synchronously (estimated tokens)."
    )

    @model_validator(mode="after")
    def _thresholds_ordered(self) -> Settings:
        if self.negative_threshold >= self.positive_threshold:
            raise ValueError("negative_threshold must be below positive_threshold")
        return self

    @property
    def context_window(self) -> int:
        return self.context_tokens or self.n_ctx

    def speech_options(self) -> SpeechOptions:
        return SpeechOptions(
            whisper_model=self.whisper_model,
            whisper_device=self.whisper_device,
            whisper_beam_size=self.whisper_beam_size,
            language=self.language,
            no_speech_threshold=self.no_speech_threshold,
            threads=self.threads,
            models_dir=self.models_dir,
            max_audio_mb=self.max_audio_mb,
            max_audio_seconds=self.max_audio_seconds,
            max_audio_channels=self.max_audio_channels,
        )

    @property
    def transcript_cache(self) -> Path | None:
        """Where transcripts of recordings are cached, or None when caching is off."""
        return self.transcript_cache_dir if self.cache else None

    def analysis_options(self, model: str | None = None) -> AnalysisOptions:
        return AnalysisOptions(
            model=model or self.model,
            max_reasks=self.max_reasks,
            max_quotes=self.max_quotes,
            segment_batch_size=self.segment_batch_size,
            segment_slots=self.segment_slots,
            split_words=self.split_words,
            context_window=self.context_window,
            window_overlap=self.window_overlap,
            trend_threshold=self.trend_threshold,
            interruption_min_overlap=self.interruption_min_overlap,
            positive_threshold=self.positive_threshold,
            negative_threshold=self.negative_threshold,
            thresholds_given=bool({"positive_threshold", "negative_threshold"} & self.model_fields_set),
        )

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def cache_dir(self) -> Path:
        return self.cache_path or self.home / "cache" / "llm"

    @property
    def data_path(self) -> Path:
        return self.data_dir or self.home / "data"

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_path / 'jobs.db'}"

    @property
    def transcript_cache_dir(self) -> Path:
        return self.transcript_cache_path or self.home / "cache" / "transcripts"
