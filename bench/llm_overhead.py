"""Our LLM stage vs raw llama.cpp on the same prompt, model and threads, in one process.

    .venv/bin/python bench/llm_overhead.py [--runs 3] [--model qwen2.5-coder-1.5b] [--call examples/billing_dispute.txt]

Cold: the KV cache is reset before every call on both sides, and our answer cache is bypassed.
Ours: LiteLLM Router -> local provider -> llama.cpp (with the logprob observer) -> JSON parsing.
Raw:  llama_cpp.Llama.create_chat_completion with the same messages and the same grammar.
Cached: the same question again through our answer cache.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from llama_cpp import Llama, LlamaGrammar

from llm_sentiment.analysis.questions import question_messages
from llm_sentiment.ask.answers import LabelAnswer, label_schema
from llm_sentiment.ask.asking import ask
from llm_sentiment.ask.prompts import PromptSet
from llm_sentiment.assets import ensure, get_asset
from llm_sentiment.llm.cached import CachedLLM, ResponseCache
from llm_sentiment.settings import Settings
from llm_sentiment.wiring import build_router, load_call

QUESTION = "customer_sentiment"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--call", type=Path, default=REPO / "examples" / "billing_dispute.txt")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="llm-bench-"))
    settings = Settings(model=f"local/{args.model}", cache_path=scratch / "cache")
    prompts = PromptSet(settings.prompts_dir, settings.prompts_version)
    transcript = load_call(args.call)
    messages = question_messages(prompts, transcript, QUESTION)
    template = prompts[QUESTION]
    schema = label_schema()

    router = build_router(settings)
    router.preload(settings.model)
    ours_model = next(iter(router.local._models.values()))  # its llama.cpp process
    raw = Llama(
        model_path=str(ensure(get_asset(args.model), settings.models_dir)),
        n_ctx=settings.n_ctx,
        n_threads=settings.threads,
        n_threads_batch=settings.threads,
        n_batch=settings.n_batch,
        verbose=False,
    )
    grammar = LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)

    def run_ours(llm: object) -> float:
        started = time.perf_counter()
        ask(
            llm,
            model=settings.model,
            question_id=QUESTION,
            template=template,
            messages=messages,  # type: ignore[arg-type]
            output=LabelAnswer,
            schema=schema,
            max_tokens=24,
            max_reasks=0,
            top_logprobs=10,
        )
        return time.perf_counter() - started

    def run_raw() -> float:
        started = time.perf_counter()
        result = raw.create_chat_completion(
            messages=[m.model_dump() for m in messages], grammar=grammar, max_tokens=24, temperature=0.0, seed=0
        )
        LabelAnswer.model_validate_json(result["choices"][0]["message"]["content"])
        return time.perf_counter() - started

    run_ours(router)  # warm-up: LiteLLM import, first-call set-up
    run_raw()
    ours_t, raw_t = [], []
    for _ in range(args.runs):
        raw.reset()
        raw_t.append(run_raw())
        ours_model.reset()
        ours_t.append(run_ours(router))

    cache = ResponseCache(settings.cache_dir)
    cached_llm = CachedLLM(router, cache)
    ours_model.reset()
    run_ours(cached_llm)  # fills the cache
    cached_t = [run_ours(cached_llm) for _ in range(args.runs)]
    cache.close()

    ours_med, raw_med, cached_med = (statistics.median(x) for x in (ours_t, raw_t, cached_t))
    print(f"call: {args.call.name}, model: {args.model}, threads: {settings.threads}, runs: {args.runs}")
    print(f"{'':<28}{'median s':>10}{'min s':>10}{'max s':>10}")
    for name, values in (("raw create_chat_completion", raw_t), ("ours, cold", ours_t), ("ours, cached", cached_t)):
        print(f"{name:<28}{statistics.median(values):>10.3f}{min(values):>10.3f}{max(values):>10.3f}")
    print(f"cold ratio ours/raw:   {ours_med / raw_med:.3f}   (target <= 1.10)")
    print(f"cached / cold (ours):  {cached_med / ours_med:.5f} (target <= 0.01)")


if __name__ == "__main__":
    main()
