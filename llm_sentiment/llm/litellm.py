"""The one adapter to LiteLLM: router config in, ``LLMClient`` out.

LiteLLM's Router handles deployments, retries and timeouts per model group; ``local/<name>`` is a
custom provider over the embedded models it is given (``LocalModels``). Fallback to another model
group is not here: it is composition (``fallback.FallbackLLM``).
"""

from __future__ import annotations

import os
import time
from typing import Any

import openai

from llm_sentiment._util.native_host import DeadlineExceededError
from llm_sentiment.errors import (
    ConfigError,
    LLMSentimentError,
    ProviderRateLimitError,
    ProviderRejectedError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    SlotsUnsupportedError,
)

from .base import LLMRequest, LLMResponse, LocalModels, Sampling, SlotRequest, SlotResponse, Slots, TokenLogprob
from .config import LOCAL_PROVIDER, RouterConfig


def _litellm() -> Any:
    """Import LiteLLM without its start-up fetch of a remote price list."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.telemetry = False
    litellm.suppress_debug_info = True
    return litellm


def _local_provider_class(litellm: Any) -> type:
    class LocalProvider(litellm.CustomLLM):  # type: ignore[misc]
        """LiteLLM custom provider ``local/<model>``, backed by the embedded models (each in its own process)."""

        def __init__(self, local: LocalModels) -> None:
            super().__init__()
            self.local = local

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
            response_format = optional_params.get("response_format") or {}
            seconds = float(timeout) if isinstance(timeout, int | float) else None
            logprobs = int(optional_params.get("top_logprobs", 0)) if optional_params.get("logprobs") else 0
            try:
                generation = self.local.generate(
                    model,
                    optional_params,
                    [{"role": m["role"], "content": m["content"]} for m in messages],
                    Sampling(
                        json_schema=response_format.get("schema"),
                        max_tokens=int(optional_params.get("max_tokens", 256)),
                        temperature=float(optional_params.get("temperature", 0.0)),
                        seed=int(optional_params.get("seed", 0)),
                        top_logprobs=logprobs,
                        seconds=seconds,
                    ),
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
            hint="Check the model's settings and credentials in the router config (LLM_SENTIMENT_ROUTER_CONFIG).",
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
    """``LLMClient`` over a LiteLLM Router: one model group per request, its errors in our tree.

    ``num_retries`` and ``timeout`` (set in the environment) override the config's router settings."""

    def __init__(
        self,
        config: RouterConfig,
        local: LocalModels,
        *,
        num_retries: int | None = None,
        timeout: float | None = None,
    ) -> None:
        self.config = config
        self.local = local
        self.num_retries = config.router_settings.num_retries if num_retries is None else num_retries
        self.timeout = config.router_settings.timeout if timeout is None else timeout
        self._structured = {
            d.model_name: d.model_info.get("structured_output", "json_object") for d in config.model_list
        }
        self._local = {d.model_name: d for d in config.model_list if d.is_local}
        self._router: Any = None

    def _router_for_calls(self) -> Any:
        """Built on the first real call: importing LiteLLM takes seconds that a cached run should not pay."""
        if self._router is None:
            litellm = _litellm()
            provider = _local_provider_class(litellm)(self.local)
            litellm.custom_provider_map = [
                *[p for p in litellm.custom_provider_map if p.get("provider") != LOCAL_PROVIDER],
                {"provider": LOCAL_PROVIDER, "custom_handler": provider},
            ]
            litellm.utils.custom_llm_setup()
            self._router = litellm.Router(
                model_list=[d.model_dump() for d in self.config.model_list],
                num_retries=self.num_retries,
                timeout=self.timeout,
                retry_after=0,
            )
        return self._router

    def preload(self, model: str) -> None:
        """Assemble and load a local model now, so a missing model fails before any work starts."""
        deployment = self._local.get(model)
        if deployment is not None:
            self.local.load(deployment.local_name, deployment.litellm_params)

    def reads_slots(self, model: str) -> bool:
        """Only the embedded models read label slots: a provider's API has no forced answer to read them from."""
        return model in self._local

    def score_slots(self, request: SlotRequest) -> SlotResponse:
        """Straight to the embedded model (no LiteLLM call: slots are not a chat completion), with the router's
        timeout as its deadline; the model's own errors (a crash, ``llm.no_slots``) come out unchanged."""
        deployment = self._local.get(request.model)
        if deployment is None:
            raise SlotsUnsupportedError(f"{request.model}: only embedded models read label slots", model=request.model)
        self.preload(request.model)
        started = time.monotonic()
        try:
            scores = self.local.score_slots(
                deployment.local_name,
                deployment.litellm_params,
                [m.model_dump() for m in request.messages],
                Slots(lines=request.lines, labels=request.labels, probe=request.probe, seconds=self.timeout),
            )
        except DeadlineExceededError:
            raise ProviderTimeoutError(
                f"{request.model}: no label slots within {self.timeout:.0f}s", model=request.model
            ) from None
        return SlotResponse(
            model=request.model,
            probabilities=scores.probabilities,
            prompt_tokens=scores.prompt_tokens,
            latency_s=round(time.monotonic() - started, 4),
        )

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
        model = request.model
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
