#!/usr/bin/env bash
# Installs the DNS servers of the DANE / DNSSEC integration tests without starting any system
# service: knot (authoritative, binds any loopback address), bind9-utils (dnssec-keygen and
# dnssec-signzone sign the test zones at test time) and unbound (the validating resolver).
# The tests start their own instances on 127.0.0.x and skip with a reason when one is missing.
set -euo pipefail
have_all() {
    command -v knotd >/dev/null 2>&1 && command -v unbound >/dev/null 2>&1 \
        && command -v dnssec-signzone >/dev/null 2>&1
}
have_all && exit 0
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
    # Keep the packages' maintainer scripts from starting system-wide servers on port 53.
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null && as_root chmod +x "$policy"
    created_policy=1
fi
as_root apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    knot bind9-utils unbound >/dev/null
[ "$created_policy" = 1 ] && as_root rm -f "$policy"
exit 0
