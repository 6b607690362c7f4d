#!/usr/bin/env bash
# Lint, type-check and test an installed checkout (scripts/bootstrap.sh --test installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 LITELLM_LOCAL_MODEL_COST_MAP=True
echo "==> ruff" >&2
.venv/bin/ruff check .
echo "==> mypy --strict llm_sentiment" >&2
.venv/bin/mypy --strict llm_sentiment
echo "==> pytest" >&2
.venv/bin/pytest "$@"
