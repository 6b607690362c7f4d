"""Writes evals/datasets/call.schema.json from ``EvalCall``; tests/test_eval_dataset.py fails when they drift.

.venv/bin/python scripts/eval_schema.py       # regenerate
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from llm_sentiment.evals.dataset import schema_json  # noqa: E402

TARGET = REPO / "evals" / "datasets" / "call.schema.json"

if __name__ == "__main__":
    TARGET.write_text(schema_json(), encoding="utf-8")
    print(f"wrote {TARGET}")
