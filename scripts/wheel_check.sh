#!/usr/bin/env bash
# The wheel carries everything the package reads at run time (question templates, the default router
# config, the eval thresholds): build it, install it with its runtime dependencies only (pinned by
# requirements.lock) into a clean venv outside the checkout, and analyze the example call from there.
# The embedded models come from the user cache that scripts/bootstrap.sh filled.
set -euo pipefail
cd "$(dirname "$0")/.."
HOME_DIR="${LLM_SENTIMENT_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/llm-sentiment}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "==> wheel: build, install into a clean venv, analyze the example call outside the checkout" >&2
.venv/bin/pip --disable-pip-version-check -q wheel --no-deps --no-build-isolation -w "$work/dist" . 2>/dev/null
python_bin=$(.venv/bin/python -c 'import sys; print(sys.executable)')
"$python_bin" -m venv "$work/venv"
"$work/venv/bin/pip" --disable-pip-version-check -q install --find-links "$HOME_DIR/wheels" \
  -c requirements.lock "$work"/dist/llm_sentiment-*.whl 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
cp examples/billing_dispute.txt "$work/call.txt"
cd "$work"
env -u PYTHONPATH HF_HUB_OFFLINE=1 LITELLM_LOCAL_MODEL_COST_MAP=True LLM_SENTIMENT_HOME="$HOME_DIR" \
  LLM_SENTIMENT_CACHE=false ./venv/bin/llm-sentiment analyze call.txt --model local/qwen2.5-coder-0.5b \
  --no-segments --no-summary --format text
./venv/bin/python - <<'PY'
from importlib.resources import files

shipped = files("llm_sentiment")
for resource in ("prompts/v5/version.yaml", "prompts/v1/system.j2", "configs/models.yaml", "evals/thresholds.yaml"):
    assert shipped.joinpath(resource).is_file(), f"the wheel lacks {resource}"
print("wheel: prompts, router config and thresholds are package data")
PY
