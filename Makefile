# The two commands a newcomer needs; both set up .venv first (fast when nothing changed).
VENV ?= .venv
export RFT_VENV := $(VENV)

.PHONY: run train test setup bench

run: setup
	$(VENV)/bin/rft

train: setup
	$(VENV)/bin/rft train sft

test: setup
	$(VENV)/bin/python -m pytest

# Performance measurements with short settings; each prints ratios against its peer and writes docs/<date>-<name>.md.
bench: setup
	$(VENV)/bin/python -m bench.ui_start --repeats 3
	$(VENV)/bin/python -m bench.ui_load --repeats 2 --seconds 6
	$(VENV)/bin/python -m bench.engine_overhead --repeats 2
	$(VENV)/bin/python -m bench.first_step --repeats 1
	$(VENV)/bin/python -m bench.grpo_generation --repeats 1 --steps 2
	$(VENV)/bin/python -m bench.eval_cost

setup:
	@bash scripts/setup-venv.sh
