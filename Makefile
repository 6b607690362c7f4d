# The two commands a new machine needs (see README): `make demo` and `make test`.
.PHONY: demo test setup check lock eval-gate

demo: setup
	.venv/bin/llm-sentiment analyze examples/billing_dispute.txt --format text --questions examples/questions.yaml

test:
	scripts/bootstrap.sh --test
	scripts/check.sh
	scripts/wheel_check.sh
	$(EVAL_GATE)

setup:
	scripts/bootstrap.sh

check:
	scripts/check.sh

lock:
	scripts/lock.sh

# The CI quality gate: the default prompts, bands and model label the `ci` subset, checked against
# llm_sentiment/evals/thresholds.yaml (quotes, per-segment scores and the summary are left to the full eval).
EVAL_GATE = HF_HUB_OFFLINE=1 LITELLM_LOCAL_MODEL_COST_MAP=True \
	.venv/bin/llm-sentiment eval --subset ci --labels-only --check --output eval-out/ci

eval-gate: setup
	$(EVAL_GATE)
