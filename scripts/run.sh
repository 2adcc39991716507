#!/usr/bin/env bash
# Sets up and runs the main job: `mailflow serve`, the Slack bot when Slack credentials are
# configured, otherwise the local playground on http://127.0.0.1:$PORT (a fake Slack in front of
# the real bot, with the sample incidents of examples/ one click away). `--offline` prints the
# diagnoses of examples/ to the terminal instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ "${1:-}" = "--offline" ]; then
    for sample in examples/*; do
        echo "=== $sample"
        .venv/bin/mailflow diagnose "$sample"
    done
    exit 0
fi
if [ -z "${SLACK_BOT_TOKEN:-}${SLACK_APP_TOKEN:-}${SLACK_SIGNING_SECRET:-}" ]; then
    echo "No Slack credentials set: starting the local playground (open the URL below; Ctrl-C stops it)." >&2
fi
exec .venv/bin/mailflow serve
