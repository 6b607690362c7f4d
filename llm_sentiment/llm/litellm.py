"""The one adapter to LiteLLM: router config in, ``LLMClient`` out.

LiteLLM's Router handles deployments, retries and timeouts per model group. Fallback to the next
model group is ours (``complete``), so it happens only on transport errors: a bad request or a
malformed answer would fail the same way on any model.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import openai
import yaml
from pydantic import BaseModel, Field, ValidationError

from llm_sentiment._util.native_host import DeadlineExceededError
from llm_sentiment.errors import (
    AllModelsFailedError,
    ConfigError,
    LLMSentimentError,
    ProviderError,
    ProviderRateLimitError,
    ProviderRejectedError,
    ProviderTimeoutError,
    ProviderUnavailableError,
)
from llm_sentiment.settings import Settings

from .base import LLMRequest, LLMResponse, TokenLogprob
from .llama_cpp import LocalModelPool

LOCAL_PROVIDER = "local"


class Deployment(BaseModel):
    model_name: str
    litellm_params: dict[str, Any]
    model_info: dict[str, Any] = Field(default_factory=dict)

    @property
    def is_local(self) -> bool:
        return str(self.litellm_params.get("model", "")).startswith(f"{LOCAL_PROVIDER}/")


class RouterSettings(BaseModel):
    num_retries: int = Field(1, ge=0)
    timeout: float = Field(600, gt=0)
    fallbacks: list[dict[str, list[str]]] = Field(default_factory=list)
    model_group_alias: dict[str, str] = Field(
        default_factory=dict,
        description="Model names clients send (e.g. a vendor's) mapped to a model group; '*' maps any other name.",
    )


class RouterConfig(BaseModel):
    model_list: list[Deployment]
    router_settings: RouterSettings = Field(default_factory=RouterSettings)

    @classmethod
    def load(cls, path: Path) -> RouterConfig:
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(
                f"cannot read router config {path}: {exc.strerror}",
                hint="Set LLM_SENTIMENT_ROUTER_CONFIG to a models.yaml.",
            ) from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"router config {path} is not valid YAML: {exc}") from None
        try:
            config = cls.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ConfigError(f"router config {path}: {where}: {first['msg']}") from None
        config.check()
        return config

    def check(self) -> None:
        names = {d.model_name for d in self.model_list}
        for rule in self.router_settings.fallbacks:
            for primary, backups in rule.items():
                unknown = [m for m in (primary, *backups) if m not in names]
                if unknown:
                    raise ConfigError(
                        f"router_settings.fallbacks names unknown models: {', '.join(unknown)}",
                        hint=f"Known model groups: {', '.join(sorted(names))}.",
                    )

        unknown_targets = sorted(t for t in self.router_settings.model_group_alias.values() if t not in names)
        if unknown_targets:
            raise ConfigError(
                f"router_settings.model_group_alias maps to unknown models: {', '.join(unknown_targets)}",
                hint=f"Known model groups: {', '.join(sorted(names))}.",
            )

    def resolve(self, model: str) -> str:
        """The model group a client's model name means: a group itself, an alias, or the '*' alias."""
        if model in self.groups():
            return model
        aliases = self.router_settings.model_group_alias
        target = aliases.get(model) or aliases.get("*")
        if target is None:
            raise ConfigError(
                f"unknown model {model!r}",
                hint=f"Model groups: {', '.join(self.groups())}; or add it to router_settings.model_group_alias.",
            )
        return target

    def groups(self) -> list[str]:
        return list(dict.fromkeys(d.model_name for d in self.model_list))

    def fallbacks_for(self, model: str) -> list[str]:
        for rule in self.router_settings.fallbacks:
            if model in rule:
                return list(rule[model])
        return []


def _litellm() -> Any:
    """Import LiteLLM without its start-up fetch of a remote price list."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.telemetry = False
    litellm.suppress_debug_info = True
    return litellm


def _local_provider_class(litellm: Any) -> type:
    class LocalProvider(litellm.CustomLLM):  # type: ignore[misc]
        """LiteLLM custom provider ``local/<model>`` backed by the in-process llama.cpp pool."""

        def __init__(self, pool: LocalModelPool) -> None:
            super().__init__()
            self.pool = pool

        def completion(
            self,
            model: str,
            messages: list[dict[str, Any]],
            api_base: str,
            custom_prompt_dict: dict[str, Any],
            model_response: Any,
            print_verbose: Any,
            encoding: Any,
            api_key: Any,
            logging_obj: Any,
            optional_params: dict[str, Any],
            acompletion: Any = None,
            litellm_params: Any = None,
            logger_fn: Any = None,
            headers: Any = None,
            timeout: Any = None,
            client: Any = None,
        ) -> Any:
            started = time.monotonic()
            spec = self.pool.spec_for(model, optional_params)
            local = self.pool.get(spec)
            response_format = optional_params.get("response_format") or {}
            seconds = float(timeout) if isinstance(timeout, int | float) else None
            try:
                generation = local.generate(
                    [{"role": m["role"], "content": m["content"]} for m in messages],
                    json_schema=response_format.get("schema"),
                    max_tokens=int(optional_params.get("max_tokens", 256)),
                    temperature=float(optional_params.get("temperature", 0.0)),
                    seed=int(optional_params.get("seed", 0)),
                    top_logprobs=int(optional_params.get("top_logprobs", 0)) if optional_params.get("logprobs") else 0,
                    deadline=started + seconds if seconds else None,
                )
            except DeadlineExceededError:
                raise litellm.Timeout(
                    message=f"local/{model}: no answer within {seconds:.0f}s", model=model, llm_provider=LOCAL_PROVIDER
                ) from None
            except LLMSentimentError as exc:
                raise _carried(litellm, exc, model) from None
            model_response.model = f"{LOCAL_PROVIDER}/{model}"
            choice = model_response.choices[0]
            choice.message.content = generation.text
            choice.finish_reason = generation.finish_reason
            if generation.logprobs is not None:
                choice.logprobs = litellm.types.utils.ChoiceLogprobs(content=generation.logprobs)
            model_response.usage = litellm.Usage(
                prompt_tokens=generation.prompt_tokens,
                completion_tokens=generation.completion_tokens,
                total_tokens=generation.prompt_tokens + generation.completion_tokens,
            )
            return model_response

    return LocalProvider


def _carried(litellm: Any, error: LLMSentimentError, model: str) -> Exception:
    """Our own error (a crashed llama.cpp process, a grammar llama.cpp rejects) through LiteLLM unchanged.

    LiteLLM turns any other exception from a provider into a connection error and retries it; a
    bad request is neither retried nor rewrapped, so it carries ours out to ``RouterClient._call``."""
    carrier: Exception = litellm.BadRequestError(message=error.message, model=model, llm_provider=LOCAL_PROVIDER)
    carrier.llm_sentiment_error = error  # type: ignore[attr-defined]
    return carrier


def _map_error(litellm: Any, model: str, exc: Exception) -> LLMSentimentError:
    carried = getattr(exc, "llm_sentiment_error", None)
    if isinstance(carried, LLMSentimentError):
        return carried
    text = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
    if isinstance(exc, litellm.Timeout):
        return ProviderTimeoutError(f"{model}: timed out ({text})", model=model)
    if isinstance(exc, litellm.RateLimitError):
        return ProviderRateLimitError(f"{model}: rate limited ({text})", model=model)
    if isinstance(exc, litellm.ContextWindowExceededError):
        return ProviderRejectedError(
            f"{model}: the call does not fit the context window ({text})",
            model=model,
            hint="Raise LLM_SENTIMENT_N_CTX or use a model with a longer context.",
        )
    if isinstance(
        exc,
        litellm.BadRequestError
        | litellm.AuthenticationError
        | litellm.NotFoundError
        | litellm.PermissionDeniedError
        | litellm.UnprocessableEntityError,
    ):
        return ProviderRejectedError(
            f"{model}: request rejected ({text})",
            model=model,
            hint="Check the model's settings and credentials in configs/models.yaml.",
        )
    return ProviderUnavailableError(f"{model}: unavailable ({text})", model=model)


def _logprobs_from(choice: Any) -> list[TokenLogprob] | None:
    content = getattr(getattr(choice, "logprobs", None), "content", None)
    if not content:
        return None
    return [
        TokenLogprob(token=e.token, logprob=e.logprob, top={t.token: t.logprob for t in (e.top_logprobs or [])})
        for e in content
    ]


class RouterClient:
    """``LLMClient`` over a LiteLLM Router, with fallback across model groups on transport errors."""

    def __init__(self, config: RouterConfig, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        self.pool = LocalModelPool(settings.models_dir, settings.n_ctx, settings.threads, settings.n_batch)
        self._structured = {
            d.model_name: d.model_info.get("structured_output", "json_object") for d in config.model_list
        }
        self._local = {d.model_name: d for d in config.model_list if d.is_local}
        self._router: Any = None

    def _router_for_calls(self) -> Any:
        """Built on the first real call: importing LiteLLM takes seconds that a cached run should not pay."""
        if self._router is None:
            litellm = _litellm()
            provider = _local_provider_class(litellm)(self.pool)
            litellm.custom_provider_map = [
                *[p for p in litellm.custom_provider_map if p.get("provider") != LOCAL_PROVIDER],
                {"provider": LOCAL_PROVIDER, "custom_handler": provider},
            ]
            litellm.utils.custom_llm_setup()
            rs = self.config.router_settings
            self._router = litellm.Router(
                model_list=[d.model_dump() for d in self.config.model_list],
                num_retries=self.settings.num_retries if self.settings.num_retries is not None else rs.num_retries,
                timeout=self.settings.timeout if self.settings.timeout is not None else rs.timeout,
                retry_after=0,
            )
        return self._router

    def preload(self, model: str) -> None:
        """Assemble and load a local model now, so a missing model fails before any work starts."""
        deployment = self._local.get(model)
        if deployment is not None:
            name = str(deployment.litellm_params["model"]).split("/", 1)[1]
            self.pool.get(self.pool.spec_for(name, deployment.litellm_params))

    def cost(self, model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
        """USD for one answer of a model group: 0 for embedded models, else the deployment's own
        ``input_cost_per_token``/``output_cost_per_token`` or LiteLLM's price map; None when unpriced."""
        deployment = next((d for d in self.config.model_list if d.model_name == model), None)
        if deployment is None:
            return None
        if deployment.is_local:
            return 0.0
        params = deployment.litellm_params
        if "input_cost_per_token" in params or "output_cost_per_token" in params:
            return (
                float(params.get("input_cost_per_token", 0.0)) * prompt_tokens
                + float(params.get("output_cost_per_token", 0.0)) * completion_tokens
            )
        try:
            prompt_cost, completion_cost = _litellm().cost_per_token(
                model=str(params.get("model", model)), prompt_tokens=prompt_tokens, completion_tokens=completion_tokens
            )
        except Exception:  # LiteLLM raises a bare Exception for models missing from its price map
            return None
        return float(prompt_cost) + float(completion_cost)

    def complete(self, request: LLMRequest) -> LLMResponse:
        if request.model not in self._structured:
            raise ConfigError(
                f"unknown model {request.model!r}",
                hint=f"Model groups in the router config: {', '.join(self.config.groups())}.",
            )
        tried: list[str] = []
        errors: list[str] = []
        for model in [request.model, *self.config.fallbacks_for(request.model)]:
            try:
                response = self._call(model, request)
            except ProviderError as exc:
                if not exc.retryable:
                    raise
                tried.append(model)
                errors.append(exc.message)
                continue
            return response.model_copy(update={"fallbacks_tried": tried})
        raise AllModelsFailedError(
            "every model failed: " + "; ".join(errors),
            tried=tried,
            hint="Check that the model servers are reachable, or add a fallback model.",
        )

    def _call(self, model: str, request: LLMRequest) -> LLMResponse:
        self.preload(model)
        kwargs: dict[str, Any] = {
            "model": model,
            "messages": [m.model_dump() for m in request.messages],
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "seed": request.seed,
        }
        if request.json_schema is not None:
            if self._structured[model] == "json_schema":
                kwargs["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {"name": "answer", "schema": request.json_schema},
                }
            else:
                kwargs["response_format"] = {"type": "json_object", "schema": request.json_schema}
        if request.top_logprobs:
            kwargs["logprobs"] = True
            kwargs["top_logprobs"] = request.top_logprobs
        router = self._router_for_calls()
        litellm = _litellm()
        started = time.monotonic()
        try:
            result = router.completion(**kwargs)
        except openai.APIError as exc:  # every LiteLLM exception derives from it
            raise _map_error(litellm, model, exc) from exc
        choice = result.choices[0]
        usage = getattr(result, "usage", None)
        return LLMResponse(
            content=choice.message.content or "",
            model=model,
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            latency_s=round(time.monotonic() - started, 4),
            logprobs=_logprobs_from(choice),
        )
