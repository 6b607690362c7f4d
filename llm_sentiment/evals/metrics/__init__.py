"""Metric math as pure functions over gold and predicted values; no I/O, no model."""
