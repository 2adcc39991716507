#!/usr/bin/env bash
# Sets up and runs the whole test suite: lint, types, unit, integration and browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
bash scripts/install-postfix.sh || echo "warning: postfix could not be installed; its tests will be skipped" >&2
bash scripts/install-chromium.sh || echo "warning: chromium could not be installed; the browser tests will be skipped" >&2
bash scripts/install-dns.sh || echo "warning: knot/unbound/bind9-utils could not be installed; the DANE tests will be skipped" >&2
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
