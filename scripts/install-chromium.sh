#!/usr/bin/env bash
# Installs Debian's headless Chromium and its driver for the browser tests (tests/browser/):
# the tests launch /usr/bin/chromium themselves; nothing is downloaded at run time.
set -euo pipefail
[ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] && [ -d /usr/share/fonts/truetype/noto ] && exit 0
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }
as_root apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    chromium chromium-driver fonts-dejavu-core fonts-noto-color-emoji >/dev/null
exit 0
