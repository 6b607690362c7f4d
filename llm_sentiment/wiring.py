"""Wiring from settings to working parts, shared by the CLI, the HTTP service and the eval harness."""

from __future__ import annotations

from pathlib import Path

from llm_sentiment.analysis.analyzer import Analyzer
from llm_sentiment.ask.prompts import PromptSet
from llm_sentiment.llm.base import HiddenStates, LLMClient
from llm_sentiment.llm.cached import CachedLLM, ResponseCache
from llm_sentiment.llm.config import RouterConfig
from llm_sentiment.llm.fallback import Backup, FallbackLLM
from llm_sentiment.llm.litellm import RouterClient
from llm_sentiment.llm.llama_cpp import LocalModel, LocalModelPool
from llm_sentiment.roles.ask import RoleQuestion
from llm_sentiment.roles.recording import recording_roles
from llm_sentiment.roles.rules import assign_roles, parse_roles_spec
from llm_sentiment.speech.audio import looks_like_recording
from llm_sentiment.speech.host import IsolatedRecognizer
from llm_sentiment.speech.recording import AudioOptions, Progress, TranscriptionResult, limits_for, transcribe_recording
from llm_sentiment.transcript.formats import InputFormat, load_transcript
from llm_sentiment.transcript.model import Transcript

from .errors import ConfigError, NoSpeechError, RolesSpecError
from .settings import Settings


def is_recording(path: Path, input_format: InputFormat = "auto") -> bool:
    """Audio is recognised by content (a fake one by its name too, to give it an audio error)."""
    return input_format == "audio" or (input_format == "auto" and looks_like_recording(path))


def load_call(
    path: Path,
    *,
    input_format: InputFormat = "auto",
    roles: str | None = None,
    audio: AudioOptions | None = None,
    settings: Settings | None = None,
    question: RoleQuestion | None = None,
    progress: Progress | None = None,
) -> Transcript:
    """A transcript file or a recording, with agent/customer roles assigned.

    A recording is validated, transcribed (or taken from the transcript cache) and its roles come
    from channels or voices; ``question`` lets an LLM name the agent when the words leave it unclear.
    """
    spec = parse_roles_spec(roles) if roles else None
    audio = audio or AudioOptions()
    if is_recording(path, input_format):
        result = transcribe_call(path, audio=audio, settings=settings, question=question, progress=progress)
        if not result.transcript.segments:
            raise NoSpeechError(f"{path.name}: no speech was found", hint="Is it the right recording?")
        return assign_roles(result.transcript, spec)
    if audio.channels:
        raise RolesSpecError("--channels applies to stereo recordings", hint="Name transcript speakers with --roles.")
    return assign_roles(load_transcript(path, input_format), spec)


def transcribe_call(
    path: Path,
    *,
    audio: AudioOptions | None = None,
    settings: Settings | None = None,
    question: RoleQuestion | None = None,
    progress: Progress | None = None,
) -> TranscriptionResult:
    """A recording's transcript with roles from channels or voices, wherever they can be told."""
    audio = audio or AudioOptions()
    settings = settings or Settings()  # the composition root reads the environment when the caller did not
    speech = settings.speech_options()
    result = transcribe_recording(
        path,
        IsolatedRecognizer(speech),
        limits=limits_for(speech),
        cache_dir=settings.transcript_cache,
        options=audio,
        progress=progress,
    )
    transcript = recording_roles(result, channels=audio.channels, question=question)
    return result.model_copy(update={"transcript": transcript})


def build_router(settings: Settings, config: RouterConfig | None = None) -> FallbackLLM:
    """The LiteLLM router over the embedded models, with fallback across its model groups."""
    config = config or RouterConfig.load(settings.router_config)
    local = LocalModelPool(settings.models_dir, settings.n_ctx, settings.threads, settings.n_batch)
    router = RouterClient(config, local, num_retries=settings.num_retries, timeout=settings.timeout)
    backups = {group: [Backup(b, router) for b in config.fallbacks_for(group)] for group in config.groups()}
    return FallbackLLM(router, backups)


def build_llm(settings: Settings, *, use_cache: bool = True) -> tuple[LLMClient, ResponseCache | None]:
    """The router, with the answer cache outermost (when caching is on)."""
    client: LLMClient = build_router(settings)
    if not (use_cache and settings.cache):
        return client, None
    cache = ResponseCache(settings.cache_dir)
    return CachedLLM(client, cache), cache


def embedded_model(settings: Settings, group: str) -> tuple[HiddenStates, str]:
    """The embedded model behind a model group, loaded in this process (an offline fitting tool reads its hidden
    states; the service never does this), and what identifies its file (name and size)."""
    config = RouterConfig.load(settings.router_config)
    deployment = next((d for d in config.model_list if d.model_name == group and d.is_local), None)
    if deployment is None:
        raise ConfigError(f"{group}: not an embedded model", hint="A probe reads an embedded model's hidden states.")
    pool = LocalModelPool(settings.models_dir, settings.n_ctx, settings.threads, settings.n_batch)
    spec = pool.spec_for(deployment.local_name, deployment.litellm_params)
    return LocalModel(spec), f"{spec.path.name}:{spec.path.stat().st_size}"


def build_role_question(
    settings: Settings, llm: LLMClient, *, model: str | None = None, prompts_version: str | None = None
) -> RoleQuestion:
    prompts = PromptSet(settings.prompts_dir, prompts_version or settings.prompts_version)
    return RoleQuestion(llm, prompts, model or settings.model, settings.max_reasks)


def build_analyzer(
    settings: Settings, llm: LLMClient, *, model: str | None = None, prompts_version: str | None = None
) -> Analyzer:
    prompts = PromptSet(settings.prompts_dir, prompts_version or settings.prompts_version)
    return Analyzer(llm, prompts, settings.analysis_options(model))
