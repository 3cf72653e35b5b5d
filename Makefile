# Shortcuts for the commands in the README; each is a single command you can also run directly.
PYTHON ?= $(if $(wildcard .venv/bin/python),.venv/bin/python,python3)

.PHONY: demo test bench bench-quick

demo:
	pip install . && vodstack demo

test:
	./scripts/test

bench:
	$(PYTHON) -m bench

bench-quick:
	$(PYTHON) -m bench --quick
