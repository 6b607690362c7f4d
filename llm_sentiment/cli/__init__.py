"""The ``llm-sentiment`` command line: analyze calls, iterate on prompts, manage models and the cache.

One module per command group; ``main`` (the console script's entry point) gathers them.
"""

from __future__ import annotations

import click

from llm_sentiment import __version__
from llm_sentiment.cli import admin, analyze, eval, serve
from llm_sentiment.cli.common import CliParts

__all__ = ["CliParts", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="llm-sentiment")
def main() -> None:
    """How a call went: customer, agent and call sentiment, with reasons and verbatim quotes.

    Runs offline on an embedded llama.cpp model; configure other models in a router config
    (LLM_SENTIMENT_ROUTER_CONFIG).
    """


for command in (
    analyze.analyze,
    analyze.transcribe,
    analyze.prompts,
    eval.eval_command,
    admin.models,
    admin.cache,
    admin.keys,
    serve.serve,
    serve.worker,
):
    main.add_command(command)
