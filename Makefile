# The two commands a new machine needs (see README): `make demo` and `make test`.
.PHONY: demo test setup check lock eval-gate

demo: setup
	.venv/bin/llm-sentiment analyze examples/billing_dispute.txt --format text --questions examples/questions.yaml

test:
	scripts/bootstrap.sh --test
	scripts/check.sh

setup:
	scripts/bootstrap.sh

check:
	scripts/check.sh

lock:
	scripts/lock.sh

# The CI quality gate: default prompts and model on the `ci` subset (labels and their quoted
# evidence; per-segment scores and the summary are left to the full eval), against evals/thresholds.yaml.
eval-gate: setup
	HF_HUB_OFFLINE=1 LITELLM_LOCAL_MODEL_COST_MAP=True \
		.venv/bin/llm-sentiment eval --subset ci --no-segments --no-summary --check --output eval-out/ci
