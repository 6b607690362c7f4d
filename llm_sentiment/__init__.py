"""llm-sentiment: how a call went, why, and the words that prove it."""

__version__ = "0.1.0"
