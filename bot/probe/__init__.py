"""The probe: the only code of the diagnosis that talks to the network (DNS, SMTP, TLS).

dnspython decides its optional features when its modules load, by scanning the metadata of every
installed distribution: about 35 ms that each `mailflow check` would pay before its first packet.
The probe never uses DNS over HTTPS or QUIC, trio or WMI, and IDNA support follows the idna
package that mailflow depends on, so the features are settled here, before any dns module loads,
with dnspython's own switch (`dns._features.force`). `dns._features` imports importlib.metadata
all the same (another 10 ms, for email, zipfile and csv): a stand-in takes its place, and the
module loads only if something uses it.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any


class _MetadataOnDemand(types.ModuleType):
    """Stands for importlib.metadata until an attribute of it is used, then loads the real
    module, which takes its place in sys.modules and on the importlib package."""

    def __getattr__(self, name: str) -> Any:
        if sys.modules.get("importlib.metadata") is self:
            del sys.modules["importlib.metadata"]
        real = importlib.import_module("importlib.metadata")
        self.__dict__.update(real.__dict__)
        return getattr(real, name)


if "importlib.metadata" not in sys.modules:
    sys.modules["importlib.metadata"] = importlib.metadata = _MetadataOnDemand("importlib.metadata")

import dns._features  # noqa: E402 - after the stand-in above
import idna  # noqa: E402

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
