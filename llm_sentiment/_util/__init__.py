"""Helpers every layer may use: atomic writes, the JSON disk cache, and native code in a child process."""
