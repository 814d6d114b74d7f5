# The two commands of the README: `make demo` and `make test`. Each runs `make setup` first.
PY := .venv/bin/python

.PHONY: setup demo test lint bench up clean package check-infra

setup:
	@bash scripts/setup.sh

# `make demo WEBHOOK_AUTH=entra` (or key+entra): the same story with Azure Monitor's secure webhook.
demo: setup
	$(PY) -m devstack.demo $(if $(WEBHOOK_AUTH),--webhook-auth '$(WEBHOOK_AUTH)')

test: setup
	$(PY) -m ruff check .
	$(PY) scripts/check_infra.py
	$(PY) -m pytest

# The deployment zip, as Core Tools/azd build it (honours .funcignore): dist/alertcap.zip
package: setup
	$(PY) scripts/package.py

# Offline validation of infra/ (every .bicep parses, types and properties against the vendored Bicep types,
# then checkov from .venv-checkov with infra/.checkov.yaml's justified skips); also run by `make test`
check-infra: setup
	$(PY) scripts/check_infra.py

lint: setup
	$(PY) -m ruff check .

bench: setup
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

up: setup
	$(PY) -m devstack up

clean:
	rm -rf .devstack
