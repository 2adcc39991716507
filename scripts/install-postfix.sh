#!/usr/bin/env bash
# Installs Postfix binaries for the integration tests without starting the system service:
# the tests run their own Postfix instance on 127.0.0.x addresses.
set -euo pipefail
command -v /usr/sbin/postfix >/dev/null 2>&1 && exit 0
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
    # Keep the package's maintainer scripts from starting a system-wide Postfix on port 25.
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null && as_root chmod +x "$policy"
    created_policy=1
fi
echo "postfix postfix/main_mailer_type select No configuration" | as_root debconf-set-selections
as_root apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postfix >/dev/null
[ "$created_policy" = 1 ] && as_root rm -f "$policy"
exit 0
