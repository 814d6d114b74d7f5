# The two commands of the README: `make demo` and `make test`. Each runs `make setup` first.
PY := .venv/bin/python

.PHONY: setup demo test lint bench up clean

setup:
	@bash scripts/setup.sh

# `make demo WEBHOOK_AUTH=entra` (or key+entra): the same story with Azure Monitor's secure webhook.
demo: setup
	$(PY) -m devstack.demo $(if $(WEBHOOK_AUTH),--webhook-auth '$(WEBHOOK_AUTH)')

test: setup
	$(PY) -m ruff check .
	$(PY) -m pytest

lint: setup
	$(PY) -m ruff check .

bench: setup
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

up: setup
	$(PY) -m devstack up

clean:
	rm -rf .devstack
