"""The probe: the only code of the diagnosis that talks to the network (DNS, SMTP, TLS).

dnspython decides its optional features when its modules load, by scanning the metadata of every
installed distribution: about 35 ms that each `mailflow check` would pay before its first packet.
The probe never uses DNS over HTTPS or QUIC, trio or WMI, and IDNA support follows the idna
package that mailflow depends on, so the features are settled here, before any dns module loads,
with dnspython's own switch (`dns._features.force`).
"""

from __future__ import annotations

import dns._features
import idna

for _feature in ("doh", "doq", "trio", "wmi"):
    dns._features.force(_feature, False)


def _idna_recent_enough() -> bool:
    """What dnspython's own check would answer for the installed idna package."""
    try:
        needed = dns._features._requirements["idna"]
        minimum = dns._features._tuple_from_text(needed[0].split(">=", 1)[1])
        return bool(dns._features._tuple_from_text(idna.__version__) >= minimum)
    except (AttributeError, KeyError, IndexError, TypeError):
        return dns._features.have("idna")  # dnspython changed: let it decide


dns._features.force("idna", _idna_recent_enough())
