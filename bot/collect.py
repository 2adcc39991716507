"""`mailflow collect onprem|exo` and `/tlscheck collect`: the read-only PowerShell scripts that
gather the configuration the cross-check reads (config/collect/*.ps1) into one JSON document
with the keys ExchangeCertificate, ReceiveConnector, SendConnector, HybridConfiguration,
AcceptedDomain (on-premises) and InboundConnector, OutboundConnector, AcceptedDomain (Exchange
Online), each a list of objects with the cmdlets' property names."""

from __future__ import annotations

from bot.core.paths import ConfigError, config_dir

SIDES = ("onprem", "exo")
HOW_TO_RUN = {
    "onprem": "Run in the Exchange Management Shell on any Exchange server; it writes "
    "%TEMP%\\mailflow-onprem.json - upload that file here.",
    "exo": "Run in Exchange Online PowerShell after Connect-ExchangeOnline; it writes "
    "%TEMP%\\mailflow-exo.json - upload that file here.",
}
FILE_NAMES = {"onprem": "mailflow-collect-onprem.ps1", "exo": "mailflow-collect-exo.ps1"}
TITLES = {
    "onprem": "mailflow collector: Exchange on-premises",
    "exo": "mailflow collector: Exchange Online",
}
SNIPPET_TYPE = "powershell"  # Slack's syntax type for the snippets


class CollectError(ConfigError):
    """The shipped script is missing or unreadable."""


def script(side: str) -> str:
    if side not in SIDES:
        raise ValueError(f"unknown side {side!r}: one of {', '.join(SIDES)}")
    path = config_dir() / "collect" / f"{side}.ps1"
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CollectError(f"{path}: cannot read: {exc.strerror or exc}") from None


def load_scripts() -> None:
    """Check at start that both shipped scripts can be read (raises CollectError)."""
    for side in SIDES:
        if "ConvertTo-Json" not in script(side):
            raise CollectError(f"config/collect/{side}.ps1 does not write a JSON document")
