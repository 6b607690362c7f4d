"""Synthetic calls for tests, benchmarks and the eval: scripted transcripts, and speech rendered from them."""
