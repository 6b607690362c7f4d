"""The embedded LLM: a GGUF model run by llama.cpp, reached through LiteLLM as ``local/<name>``.

llama.cpp runs in a child process of its own (``HostedModel`` over ``native_host``): a crash there
fails the one question it was answering, never the server or CLI that asked. Decoding is
constrained by a grammar built from the request's JSON schema and parsed by llama.cpp before
sampling (``grammar``). Label probabilities come from the logits llama.cpp hands the sampler at
each step (observed before the grammar masks them), so no ``logits_all`` buffer of n_ctx x vocab
floats is needed.
"""

from __future__ import annotations

import ctypes
import dataclasses
import functools
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from llm_sentiment._util.native_host import DeadlineExceededError, Emit, Handler, NativeHost
from llm_sentiment.assets import ensure, get_asset
from llm_sentiment.errors import ModelMissingError, SlotsUnsupportedError

from .base import Generation, Sampling, Slots, SlotScores
from .grammar import GrammarChecker, to_gbnf

ABORT_MARKER_ENV = "LLM_SENTIMENT_TEST_ABORT_ON"
"""Fault injection: the llm host process aborts on a request whose messages contain this value."""
_HOST_GRACE_S = 30.0
"""How long past a request's deadline the host may take to stop by itself before it is killed."""


@dataclass(frozen=True)
class LocalModelSpec:
    path: Path
    n_ctx: int
    n_threads: int
    n_batch: int


class _TopKObserver:
    """A llama.cpp logits processor that records log-probabilities and changes nothing.

    At each step it keeps the top-k alternatives; at the next step, once the sampler's choice is
    visible as the last input id, it records that token's own log-probability.
    """

    def __init__(self, k: int) -> None:
        self.k = k
        self.steps: list[tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]] = []
        self.chosen: list[float] = []
        self._previous: tuple[npt.NDArray[np.float64], float] | None = None

    def __call__(self, input_ids: npt.NDArray[np.intc], logits: npt.NDArray[np.single]) -> npt.NDArray[np.single]:
        if self._previous is not None:
            values, log_z = self._previous
            self.chosen.append(float(values[int(input_ids[-1])] - log_z))
        values = np.asarray(logits, dtype=np.float64)
        peak = values.max()
        log_z = float(peak + np.log(np.exp(values - peak).sum()))
        top = np.argpartition(-values, self.k)[: self.k]
        top = top[np.argsort(-values[top])]
        self.steps.append((top, values[top] - log_z))
        self._previous = (values, log_z)
        return logits


class LocalModel:
    """One loaded GGUF model, in the llm host process (``native_host``); it serves one request at a time."""

    def __init__(self, spec: LocalModelSpec) -> None:
        from llama_cpp import Llama

        self.spec = spec
        self._deadline: float | None = None
        self._llm = Llama(
            model_path=str(spec.path),
            n_ctx=spec.n_ctx,
            n_threads=spec.n_threads,
            n_threads_batch=spec.n_threads,
            n_batch=spec.n_batch,
            verbose=False,
        )
        self._grammars = GrammarChecker(self._llm._model.vocab)
        self._formatter = _chat_formatter(self._llm)
        self._install_abort_callback()

    def _install_abort_callback(self) -> None:
        """llama.cpp polls this between graph nodes, so a deadline interrupts prompt processing too."""
        import llama_cpp

        lib = llama_cpp.llama_cpp._lib
        lib.llama_set_abort_callback.argtypes = [ctypes.c_void_p, llama_cpp.ggml_abort_callback, ctypes.c_void_p]
        lib.llama_set_abort_callback.restype = None

        def expired(_data: Any) -> bool:
            return self._deadline is not None and time.monotonic() > self._deadline

        self._abort = llama_cpp.ggml_abort_callback(expired)  # kept referenced for the context's lifetime
        lib.llama_set_abort_callback(self._llm.ctx, self._abort, None)

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def reset(self) -> None:
        """Forget the KV cache (benchmarks that measure a cold prefix)."""
        cast(Any, self._llm).reset()

    def generate(self, messages: list[dict[str, str]], sampling: Sampling) -> Generation:
        """``sampling.json_schema`` becomes a grammar that llama.cpp has parsed before sampling starts."""
        from llama_cpp import LogitsProcessorList
        from llama_cpp.llama_grammar import LlamaGrammar

        _abort_if_marked(messages)
        deadline = None if sampling.seconds is None else time.monotonic() + sampling.seconds
        grammar = None
        if sampling.json_schema:
            gbnf = to_gbnf(sampling.json_schema)
            self._grammars.check(gbnf)
            grammar = LlamaGrammar.from_string(gbnf, verbose=False)
        observer = _TopKObserver(sampling.top_logprobs) if sampling.top_logprobs else None
        self._deadline = deadline
        try:
            result = cast(
                dict[str, Any],
                self._llm.create_chat_completion(
                    messages=cast(Any, messages),
                    grammar=grammar,
                    max_tokens=sampling.max_tokens,
                    temperature=sampling.temperature,
                    seed=sampling.seed,
                    logits_processor=LogitsProcessorList([observer]) if observer else None,
                ),
            )
        except RuntimeError as exc:
            if deadline is not None and time.monotonic() > deadline:
                raise DeadlineExceededError(str(exc)) from exc
            raise
        finally:
            self._deadline = None
        usage = result["usage"]
        generated = [int(t) for t in self._llm._input_ids[usage["prompt_tokens"] :]]
        choice = result["choices"][0]
        text = choice["message"]["content"] or ""
        return Generation(
            text=text,
            prompt_tokens=usage["prompt_tokens"],
            completion_tokens=usage["completion_tokens"],
            finish_reason=choice.get("finish_reason") or "stop",
            logprobs=self._logprobs(observer, generated, text) if observer else None,
        )

    def score_slots(self, messages: list[dict[str, str]], slots: Slots) -> SlotScores:
        """Read each forced line's label slot from the logits after it (or with ``slots.probe`` from the hidden
        state there), and append the likeliest label.

        The prompt is formatted as ``create_chat_completion`` formats it, so the tokens of a shared system
        message are the ones earlier questions left in the KV cache and are not read again. Each line is
        one ``eval`` (its label's tokens, a line break, then the next line): the slot's logits are those of
        the last token evaluated, so no ``logits_all`` buffer is needed."""
        distributions, read, _ = self._read_slots(messages, slots, keep_states=slots.probe is not None)
        return SlotScores(probabilities=distributions, prompt_tokens=read)

    def read_states(self, messages: list[dict[str, str]], lines: list[str], labels: list[str]) -> list[list[float]]:
        """The last hidden state at each slot, as ``score_slots`` reads it for a probe (what a probe is fitted on)."""
        _, _, states = self._read_slots(messages, Slots(lines=lines, labels=labels), keep_states=True)
        return [state.tolist() for state in states]

    def _read_slots(
        self, messages: list[dict[str, str]], slots: Slots, *, keep_states: bool
    ) -> tuple[list[dict[str, float]], int, list[npt.NDArray[np.float32]]]:
        if self._formatter is None:
            raise SlotsUnsupportedError("this model's GGUF file has no chat template")
        if slots.probe is not None and len(slots.probe.weights) != self._llm.n_embd():
            raise SlotsUnsupportedError(
                f"the probe reads {len(slots.probe.weights)}-dim states; this model's are {self._llm.n_embd()}-dim"
            )
        _abort_if_marked(messages)
        label_tokens = [self._tokens(" " + label) for label in slots.labels]
        firsts = [tokens[0] for tokens in label_tokens]
        if len(set(firsts)) != len(firsts):
            raise SlotsUnsupportedError("two labels start with the same token")
        formatted = self._formatter(messages=messages)
        prompt = self._llm.tokenize(formatted.prompt.encode("utf-8"), add_bos=not formatted.added_special, special=True)
        self._deadline = None if slots.seconds is None else time.monotonic() + slots.seconds
        llm = self._llm
        try:
            kept = 0
            for cached, wanted in zip(llm._input_ids.tolist(), prompt[:-1], strict=False):
                if cached != wanted:
                    break
                kept += 1
            llm.n_tokens = kept
            pending = prompt[kept:]
            distributions: list[dict[str, float]] = []
            states: list[npt.NDArray[np.float32]] = []
            read = kept  # counted as read, as a chat completion counts the prompt it found in the cache
            for line in slots.lines:
                tokens = self._tokens(line)
                read += len(pending) + len(tokens)
                if keep_states:
                    llm.eval(pending)
                    states.append(self._state_after(tokens))
                else:
                    llm.eval([*pending, *tokens])
                if slots.probe is not None:
                    distribution = slots.probe.distribution(states[-1].tolist(), slots.labels)
                else:
                    logits = np.ctypeslib.as_array(cast(Any, llm._ctx).get_logits(), shape=(llm.n_vocab(),))
                    chosen = np.asarray(logits[firsts], dtype=np.float64)
                    weights = np.exp(chosen - chosen.max())
                    weights /= weights.sum()
                    distribution = {label: float(w) for label, w in zip(slots.labels, weights, strict=True)}
                distributions.append(distribution)
                likeliest = max(range(len(slots.labels)), key=lambda i: distribution[slots.labels[i]])
                pending = [*label_tokens[likeliest], *self._newline]
        except RuntimeError as exc:
            if self._deadline is not None and time.monotonic() > self._deadline:
                raise DeadlineExceededError(str(exc)) from exc
            raise
        finally:
            self._deadline = None
        return distributions, read, states

    def _state_after(self, tokens: list[int]) -> npt.NDArray[np.float32]:
        """Evaluate ``tokens`` with llama.cpp's embeddings output on, and copy the last one's hidden state (after
        the final norm: what the output layer reads). Only these few tokens are evaluated that way."""
        import llama_cpp

        ctx = cast(Any, self._llm._ctx).ctx
        llama_cpp.llama_set_embeddings(ctx, True)
        try:
            self._llm.eval(tokens)
            pointer = llama_cpp.llama_get_embeddings_ith(ctx, -1)
            if not pointer:
                raise SlotsUnsupportedError("llama.cpp gave no hidden state for the slot")
            return np.ctypeslib.as_array(pointer, shape=(self._llm.n_embd(),)).copy()
        finally:
            llama_cpp.llama_set_embeddings(ctx, False)

    def _tokens(self, text: str) -> list[int]:
        return [int(t) for t in self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)]

    @functools.cached_property
    def _newline(self) -> list[int]:
        return self._tokens("\n")

    def _piece(self, token: int) -> str:
        return bytes(self._llm.detokenize([token])).decode("utf-8", errors="replace")

    def _logprobs(self, observer: _TopKObserver, generated: list[int], text: str) -> list[dict[str, Any]]:
        """OpenAI-shaped logprobs: one entry per generated token, with its unconstrained alternatives."""
        entries: list[dict[str, Any]] = []
        consumed = 0
        for step, (ids, logps) in enumerate(observer.steps):
            if consumed >= len(text):
                break
            alternatives = {self._piece(int(i)): float(lp) for i, lp in zip(ids, logps, strict=True)}
            token = self._piece(generated[step]) if step < len(generated) else text[consumed:]
            chosen_logp = (
                observer.chosen[step] if step < len(observer.chosen) else alternatives.get(token, float(logps[-1]))
            )
            consumed += len(token)
            entries.append(
                {
                    "token": token,
                    "logprob": chosen_logp,
                    "top_logprobs": [{"token": t, "logprob": lp} for t, lp in alternatives.items()],
                }
            )
        return entries


def _chat_formatter(llm: Any) -> Any:
    """The formatter ``create_chat_completion`` uses for a GGUF file's own chat template; None without one."""
    from llama_cpp import llama_chat_format

    template = llm.metadata.get("tokenizer.chat_template")
    if llm.chat_format != "chat_template.default" or not template:
        return None
    eos, bos = llm.token_eos(), llm.token_bos()
    return llama_chat_format.Jinja2ChatFormatter(
        template=template,
        eos_token=llm._model.token_get_text(eos) if eos != -1 else "",
        bos_token=llm._model.token_get_text(bos) if bos != -1 else "",
        stop_token_ids=[eos],
    )


def _abort_if_marked(messages: list[dict[str, str]]) -> None:
    """Fault injection for the crash-isolation tests: a request carrying the marker aborts this process."""
    marker = os.environ.get(ABORT_MARKER_ENV)
    if marker and any(marker in m.get("content", "") for m in messages):
        os.abort()


_LOADED: dict[LocalModelSpec, LocalModel] = {}


def _loaded(args: dict[str, Any]) -> LocalModel:
    spec = LocalModelSpec(
        path=Path(args["path"]), n_ctx=args["n_ctx"], n_threads=args["n_threads"], n_batch=args["n_batch"]
    )
    if spec not in _LOADED:
        _LOADED[spec] = LocalModel(spec)
    return _LOADED[spec]


def _generate(args: dict[str, Any], _emit: Emit) -> dict[str, Any]:
    generation = _loaded(args["spec"]).generate(args["messages"], Sampling.model_validate(args["sampling"]))
    return dataclasses.asdict(generation)


def _score_slots(args: dict[str, Any], _emit: Emit) -> dict[str, Any]:
    return _loaded(args["spec"]).score_slots(args["messages"], Slots.model_validate(args["slots"])).model_dump()


def host_handlers() -> dict[str, Handler]:
    """What the llm host process serves (``native_host``)."""
    return {
        "load": lambda args, _emit: _loaded(args["spec"]).spec.n_ctx,
        "generate": _generate,
        "score_slots": _score_slots,
        "count_tokens": lambda args, _emit: _loaded(args["spec"]).count_tokens(args["text"]),
        "reset": lambda args, _emit: _loaded(args["spec"]).reset(),
    }


class HostedModel:
    """A ``LocalModel`` in its own child process: a llama.cpp crash fails one request, not this process."""

    def __init__(self, spec: LocalModelSpec) -> None:
        self.spec = spec
        self._host = NativeHost(__name__, f"llama.cpp ({spec.path.name})")
        self._args = {"path": str(spec.path), "n_ctx": spec.n_ctx, "n_threads": spec.n_threads, "n_batch": spec.n_batch}

    @property
    def pid(self) -> int | None:
        return self._host.pid

    def load(self) -> None:
        self._host.call("load", {"spec": self._args})

    def count_tokens(self, text: str) -> int:
        return int(self._host.call("count_tokens", {"spec": self._args, "text": text}))

    def reset(self) -> None:
        self._host.call("reset", {"spec": self._args})

    def generate(self, messages: list[dict[str, str]], sampling: Sampling) -> Generation:
        answer = self._host.call(
            "generate",
            {"spec": self._args, "messages": messages, "sampling": sampling.model_dump(mode="json")},
            timeout_s=None if sampling.seconds is None else sampling.seconds + _HOST_GRACE_S,
        )
        return Generation(**answer)

    def score_slots(self, messages: list[dict[str, str]], slots: Slots) -> SlotScores:
        answer = self._host.call(
            "score_slots",
            {"spec": self._args, "messages": messages, "slots": slots.model_dump(mode="json")},
            timeout_s=None if slots.seconds is None else slots.seconds + _HOST_GRACE_S,
        )
        return SlotScores.model_validate(answer)

    def close(self) -> None:
        self._host.close()


class LocalModelPool:
    """Loads each embedded model once per process."""

    def __init__(self, models_dir: Path, n_ctx: int, n_threads: int, n_batch: int) -> None:
        self.models_dir = models_dir
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.n_batch = n_batch
        self._models: dict[LocalModelSpec, HostedModel] = {}
        self._lock = threading.Lock()

    def spec_for(self, name: str, params: dict[str, Any]) -> LocalModelSpec:
        """``params`` are the deployment's litellm_params: ``model_path``, ``n_ctx``, ``n_threads`` override."""
        if "model_path" in params:
            path = Path(str(params["model_path"])).expanduser()
            if not path.is_file():
                raise ModelMissingError(f"GGUF file {path} not found", hint="Fix model_path in the router config.")
        else:
            path = ensure(get_asset(name), self.models_dir)
        return LocalModelSpec(
            path=path,
            n_ctx=int(params.get("n_ctx", self.n_ctx)),
            n_threads=int(params.get("n_threads", self.n_threads)),
            n_batch=int(params.get("n_batch", self.n_batch)),
        )

    def load(self, name: str, params: dict[str, Any]) -> None:
        self.get(self.spec_for(name, params))

    def generate(
        self, name: str, params: dict[str, Any], messages: list[dict[str, str]], sampling: Sampling
    ) -> Generation:
        return self.get(self.spec_for(name, params)).generate(messages, sampling)

    def score_slots(
        self, name: str, params: dict[str, Any], messages: list[dict[str, str]], slots: Slots
    ) -> SlotScores:
        return self.get(self.spec_for(name, params)).score_slots(messages, slots)

    def get(self, spec: LocalModelSpec) -> HostedModel:
        """The model's host process, started and the model loaded on first use."""
        with self._lock:
            if spec not in self._models:
                model = HostedModel(spec)
                model.load()
                self._models[spec] = model
            return self._models[spec]
