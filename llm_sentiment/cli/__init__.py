"""The ``llm-sentiment`` command line; ``main`` is the console script's entry point."""

from llm_sentiment.cli.analyze import main

__all__ = ["main"]
