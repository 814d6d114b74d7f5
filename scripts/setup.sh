#!/usr/bin/env bash
# Prepares a fresh Debian machine (Python 3.11, Node 20, root) for the devstack and the tests.
# Idempotent: each step is skipped when its output is already up to date.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v tcpdump >/dev/null 2>&1 || need_apt+=(tcpdump)
command -v ip >/dev/null 2>&1 || need_apt+=(iproute2)
# tshark is the triage tests' oracle and bench/triage.py's baseline; capinfos comes with it (wireshark-common)
command -v tshark >/dev/null 2>&1 || need_apt+=(tshark)
command -v capinfos >/dev/null 2>&1 || need_apt+=(wireshark-common)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: apt-get install ${need_apt[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # wireshark-common asks whether non-root users may capture; answer "no" so the install never prompts
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv" >&2
  python3 -m venv .venv
fi
stamp=.venv/.stamp-requirements
if [ ! -f "$stamp" ] || [ requirements.txt -nt "$stamp" ] || [ requirements-dev.txt -nt "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  # uv (from PyPI, pinned) installs the same requirements as pip in a fraction of the time
  uv_version=$(sed -n 's/^uv==\([^ ]*\).*/\1/p' requirements-dev.txt)
  if [ "$(.venv/bin/uv --version 2>/dev/null | cut -d' ' -f2)" != "$uv_version" ]; then
    echo "setup: pip install uv==$uv_version" >&2
    # (this machine's pip config names local indexes that may not exist; their warnings are noise)
    .venv/bin/pip install -q "uv==$uv_version" 2>&1 | { grep -v "^WARNING: Location" || true; }
  fi
  echo "setup: uv pip install -r requirements-dev.txt" >&2
  .venv/bin/uv pip install -q --python .venv/bin/python -r requirements-dev.txt
  .venv/bin/uv pip install -q --python .venv/bin/python --no-deps -e .
  touch "$stamp"
fi

# checkov (make check-infra) in its own venv: its pins clash with requirements-dev.txt (see requirements-checkov.txt).
# uv installs it (--no-deps: the file pins the whole set; bytecode compiled once here rather than on every run),
# in the background while npm works; waited for at the end.
checkov_venv() {
  if [ ! -x .venv-checkov/bin/python ]; then
    echo "setup: creating .venv-checkov" >&2
    python3 -m venv --without-pip .venv-checkov
  fi
  local cstamp=.venv-checkov/.stamp-requirements
  if [ ! -f "$cstamp" ] || [ requirements-checkov.txt -nt "$cstamp" ]; then
    echo "setup: uv pip install -r requirements-checkov.txt" >&2
    .venv/bin/uv pip install -q --python .venv-checkov/bin/python --no-deps --compile-bytecode \
      -r requirements-checkov.txt
    touch "$cstamp"
  fi
}
checkov_venv &
checkov_pid=$!

nstamp=devstack/node/node_modules/.stamp-npm
if [ ! -f "$nstamp" ] || [ devstack/node/package-lock.json -nt "$nstamp" ]; then
  echo "setup: npm ci (Azurite, Node 22, pyright)" >&2
  (cd devstack/node && npm ci --no-audit --no-fund --loglevel=error)
  touch "$nstamp"
fi

wait "$checkov_pid" || { echo "setup: installing requirements-checkov.txt failed" >&2; exit 1; }
