"""Fitting a label probe on hidden states (``evals.probe``) and writing it into a calibration file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from llm_sentiment.ask.answers import LABELS
from llm_sentiment.ask.calibration import Calibration
from llm_sentiment.evals.fit_probe import _write
from llm_sentiment.evals.probe import Labeled, fit_probe_across


def _dataset(name: str, per_label: list[int], seed: int, dims: int = 40) -> Labeled:
    """States whose label shows along a few directions, under noise, as a model's hidden states would."""
    rng = np.random.default_rng(seed)
    directions = np.random.default_rng(99).normal(size=(len(LABELS), dims)) * 3
    gold = [label for label, n in zip(LABELS, per_label, strict=True) for _ in range(n)]
    states = np.vstack([directions[LABELS.index(g)] + rng.normal(size=dims) * 2 + 50 for g in gold])
    return Labeled(name=name, ids=[f"{name}-{i}" for i in range(len(gold))], gold=gold, states=states)


def test_a_probe_fitted_on_two_datasets_separates_their_labels() -> None:
    written, real = _dataset("written", [10, 10, 10], seed=1), _dataset("real", [15, 60, 25], seed=2)
    fitted = fit_probe_across([written, real])
    assert fitted.dev_calls == {"written": 30, "real": 100}
    assert min(fitted.dev_macro_f1.values()) > 0.8, fitted.dev_macro_f1
    assert fitted.components in (16, 32) and fitted.l2 in (0.01, 0.1, 1.0)
    states = np.vstack([written.states, real.states])
    gold = [*written.gold, *real.gold]
    read = [max(LABELS, key=lambda k: fitted.probe.distribution(list(s), LABELS)[k]) for s in states]
    assert np.mean([a == b for a, b in zip(read, gold, strict=True)]) > 0.9, "the folded map reads the raw state"
    assert fit_probe_across([written, real]).probe == fitted.probe, "deterministic"


def test_too_few_calls_for_any_probe_is_an_error() -> None:
    with pytest.raises(ValueError, match="too few calls"):
        fit_probe_across([_dataset("tiny", [3, 3, 3], seed=3, dims=8)])


def test_writing_a_probe_keeps_the_bands_and_heads_above_it_and_other_probes(tmp_path: Path) -> None:
    path = tmp_path / "calibration.yaml"
    path.write_text("# by hand\nfitted_on: a test\nmodels:\n  m:\n    customer: {positive: 0.3, negative: -0.3}\n")
    fitted = fit_probe_across([_dataset("written", [10, 10, 10], seed=1)])
    _write(path, "m", "customer", fitted)
    _write(path, "m", "agent", fitted)
    _write(path, "m", "customer", fitted)  # a refit replaces its own entry
    text = path.read_text()
    assert text.startswith("# by hand\n") and text.count("probes:") == 1
    calibration = Calibration.model_validate(yaml.safe_load(text))
    assert calibration.thresholds("m", "customer") is not None
    assert calibration.probe("m", "customer") == fitted.probe == calibration.probe("m", "agent")


def test_a_status_probe_is_fitted_over_the_resolution_statuses_and_named_in_a_calibration() -> None:
    from llm_sentiment.analysis.questions import PROBED_STATUSES

    labeled = _dataset("real", [20, 40, 20], seed=4)
    as_status = dict(zip(LABELS, PROBED_STATUSES, strict=True))
    statuses = Labeled(labeled.name, labeled.ids, [as_status[g] for g in labeled.gold], labeled.states)
    fitted = fit_probe_across([statuses], PROBED_STATUSES)
    assert fitted.dev_macro_f1["real"] > 0.8
    read = fitted.probe.distribution(list(statuses.states[0]), list(PROBED_STATUSES))
    assert max(read, key=lambda k: read[k]) == statuses.gold[0]
    calibration = Calibration(fitted_on="x", models={}, probes={"m": {"resolution": fitted.probe}})
    assert calibration.probe("m", "resolution") == fitted.probe
    with pytest.raises(ValueError, match="unknown targets for a label head"):
        head = {"weights": [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], "bias": [0.0, 0.0, 0.0]}
        Calibration.model_validate({"fitted_on": "x", "models": {}, "scaling": {"m": {"resolution": head}}})
