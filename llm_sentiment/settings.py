"""The one place configuration is read: environment (``LLM_SENTIMENT_*``), then defaults."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs
from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


def _default_home() -> Path:
    return Path(platformdirs.user_cache_dir("llm-sentiment", appauthor=False))


def _default_threads() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LLM_SENTIMENT_", extra="ignore")

    home: Path = Field(default_factory=_default_home, description="Cache root: assembled models, LLM cache.")
    model: str = Field("local/qwen2.5-coder-1.5b", description="Model group from the router config.")
    router_config: Path = Field(REPO_ROOT / "configs" / "models.yaml")
    prompts_dir: Path = Field(REPO_ROOT / "prompts")
    prompts_version: str = "v1"
    evals_dir: Path = Field(REPO_ROOT / "evals", description="Eval datasets (datasets/<name>/) and thresholds.yaml.")
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

    @model_validator(mode="after")
    def _thresholds_ordered(self) -> Settings:
        if self.negative_threshold >= self.positive_threshold:
            raise ValueError("negative_threshold must be below positive_threshold")
        return self

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def cache_dir(self) -> Path:
        return self.cache_path or self.home / "cache" / "llm"
