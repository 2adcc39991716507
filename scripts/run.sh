#!/usr/bin/env bash
# Sets up and runs the main job: the Slack bot when Slack credentials are configured,
# otherwise an offline diagnosis of the sample incidents in examples/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -n "${SLACK_BOT_TOKEN:-}" ]; then
    exec .venv/bin/mailflow serve
fi
echo "No SLACK_BOT_TOKEN set: diagnosing the sample incidents in examples/ offline." >&2
for sample in examples/*; do
    echo "=== $sample"
    .venv/bin/mailflow diagnose "$sample"
done
