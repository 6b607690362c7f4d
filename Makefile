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

# The CI quality gate, checked against llm_sentiment/evals/thresholds.yaml: the default prompts, bands
# and model label the written dataset's `ci` subset (labels only), then label and score per segment the
# `ci` subset of the real dailydialog-service dialogues (segment labels only: no evidence or summary).
# Quotes and the summary are left to the full eval.
EVAL = HF_HUB_OFFLINE=1 LITELLM_LOCAL_MODEL_COST_MAP=True .venv/bin/llm-sentiment eval --check
EVAL_GATE = $(EVAL) --subset ci --labels-only --output eval-out/ci && \
	$(EVAL) --dataset dailydialog-service --subset ci --labels-only --segments --output eval-out/ci-dailydialog-service

eval-gate: setup
	$(EVAL_GATE)
