# The two commands a new machine needs (see README): `make demo` and `make test`.
.PHONY: demo test setup check lock

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
