#!/usr/bin/env bash
# Creates .venv with Python 3.11+ and installs mailflow-bot into it (editable: source changes
# need no reinstall).
#   scripts/setup.sh          runtime dependencies only
#   scripts/setup.sh --dev    plus the test tools (pytest, hypothesis, aiosmtpd, ruff, mypy)
# pip runs only when pyproject.toml changed since the last successful install (or the tools of
# --dev are wanted and missing): otherwise this script touches neither the network nor .venv.
set -euo pipefail
cd "$(dirname "$0")/.."

extra=""
[ "${1:-}" = "--dev" ] && extra="[dev]"
stamp=.venv/.installed  # "<sha256 of pyproject.toml> <extras>" of the last successful install
wanted="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ -x .venv/bin/python ] && [ -x .venv/bin/mailflow ] && [ -f "$stamp" ]; then
    read -r installed installed_extra <"$stamp" || true
    if [ "$installed" = "$wanted" ] && { [ -z "$extra" ] || [ "${installed_extra:-}" = "[dev]" ]; }; then
        exit 0
    fi
fi

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "mailflow-bot needs Python 3.11 or newer ($python is $("$python" --version 2>&1))" >&2
    exit 2
fi

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }

if [ ! -x .venv/bin/python ]; then
    if ! "$python" -m venv .venv 2>/dev/null; then
        # Debian ships venv/ensurepip in a separate package.
        rm -rf .venv
        echo "installing python3-venv (Debian)..." >&2
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
        "$python" -m venv .venv
    fi
fi

# setuptools prints build warnings that are noise to users: keep pip's output in a log and show
# it only when the install fails.
log=.venv/install.log
if ! { .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip &&
       .venv/bin/python -m pip install -q --disable-pip-version-check -e ".${extra}"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "setup failed: see the pip output above ($log)" >&2
    exit 1
fi
# Precompile our own modules: with PYTHONDONTWRITEBYTECODE set (common in containers and CI)
# Python never caches their bytecode and would recompile every module on every run of
# `mailflow`. compileall only rewrites what changed, and Python ignores a stale .pyc.
.venv/bin/python -m compileall -q -j 0 bot handlers >/dev/null
echo "$wanted ${extra}" >"$stamp"
