# The two commands a newcomer needs; both set up .venv first (fast when nothing changed).
VENV ?= .venv
export RFT_VENV := $(VENV)

.PHONY: run train test setup

run: setup
	$(VENV)/bin/rft

train: setup
	$(VENV)/bin/rft train sft

test: setup
	$(VENV)/bin/python -m pytest

setup:
	@bash scripts/setup-venv.sh
