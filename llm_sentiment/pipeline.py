"""Wiring from settings to working parts, shared by the CLI, the HTTP service and the eval harness."""

from __future__ import annotations

from pathlib import Path

from .analyze import Analyzer
from .cache import CachedLLM, ResponseCache
from .formats import InputFormat, load_transcript
from .llm import LLMClient
from .roles import assign_roles, parse_roles_spec
from .router import RouterClient, RouterConfig
from .settings import Settings
from .templates import PromptSet
from .transcript import Transcript


def load_call(path: Path, *, input_format: InputFormat = "auto", roles: str | None = None) -> Transcript:
    """A transcript file with agent/customer roles assigned."""
    transcript = load_transcript(path, input_format)
    return assign_roles(transcript, parse_roles_spec(roles) if roles else None)


def build_llm(settings: Settings, *, use_cache: bool = True) -> tuple[LLMClient, ResponseCache | None]:
    client: LLMClient = RouterClient(RouterConfig.load(settings.router_config), settings)
    if not (use_cache and settings.cache):
        return client, None
    cache = ResponseCache(settings.cache_dir)
    return CachedLLM(client, cache), cache


def build_analyzer(
    settings: Settings, llm: LLMClient, *, model: str | None = None, prompts_version: str | None = None
) -> Analyzer:
    prompts = PromptSet(settings.prompts_dir, prompts_version or settings.prompts_version)
    return Analyzer(llm, prompts, settings, model=model)
