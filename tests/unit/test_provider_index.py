"""reasons.provider_of looks providers up in dictionaries (ProviderIndex); it must name the
same table as reading the tables in order, for every host the tables list and names around
them."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.core.diagnose.fact import Fact, FactKind
from bot.core.diagnose.reasons import ProviderTable, load_reasons, provider_of

BOOK = load_reasons()
HOSTS = sorted({host for table in BOOK.providers for host in table.hosts})


def _in_order(recipient: str, names: tuple[str, ...], diagnostic: str = "") -> ProviderTable | None:
    """The definition: the first table whose host ends the recipient domain's name or the host
    name (a host written with a leading dot also matches the name without it), else the first
    whose reply mark is in the diagnostic."""
    domain = recipient.rpartition("@")[2].lower()
    if domain:
        for table in BOOK.providers:
            if table.match_recipient_domain and any(
                host.lstrip(".").endswith(domain) for host in table.hosts
            ):
                return table
    for name in names:
        if not name:
            continue
        lowered = name.lower().rstrip(".")
        for table in BOOK.providers:
            for host in table.hosts:
                if lowered.endswith(host) or (host.startswith(".") and lowered == host[1:]):
                    return table
    for table in BOOK.providers:
        if any(mark in diagnostic.lower() for mark in table.reply_marks):
            return table
    return None


def _fact(recipient: str, remote: str, reporting: str, diagnostic: str = "") -> Fact:
    return Fact(source="test", kind=FactKind.DELIVERY, recipient=recipient or None,
                remote_host=remote or None, reporting_mta=reporting or None,
                diagnostic=diagnostic)  # fmt: skip


def _variants(host: str) -> list[str]:
    bare = host.lstrip(".")
    return [bare, "mx1." + bare, "x" + bare, bare[1:], bare + ".", bare.upper(), "a" + host]


def test_every_listed_host_and_its_neighbours_name_the_same_table() -> None:
    assert len(HOSTS) > 30
    checked = 0
    for host in HOSTS:
        for name in _variants(host):
            for fact in (_fact("", name, ""), _fact("", "", name), _fact(f"u@{name}", "", "")):
                expected = _in_order(fact.recipient or "", (fact.remote_host or "",
                                                            fact.reporting_mta or ""))  # fmt: skip
                assert provider_of(fact, BOOK) is expected, (host, name)
                checked += expected is not None
    assert checked > len(HOSTS)  # most of them found a table


@given(
    st.sampled_from(["", "user@", "x@"]).flatmap(
        lambda prefix: st.builds(
            lambda tail: prefix + tail if prefix else "",
            st.sampled_from([*HOSTS, "example.com", "mail.com", ""]),
        )
    ),
    st.one_of(st.sampled_from(HOSTS), st.text("abcmo.-", max_size=20)),
    st.one_of(st.sampled_from(HOSTS), st.text("abcgle.", max_size=20)),
    st.sampled_from(["", "550 5.7.1 blocked - gsmtp", "[X.prod.outlook.com]", "- GSMTP", "gsmtp"]),
)
def test_any_names_name_the_same_table(
    recipient: str, remote: str, reporting: str, diagnostic: str
) -> None:
    fact = _fact(recipient, remote, reporting, diagnostic)
    assert provider_of(fact, BOOK) is _in_order(recipient, (remote, reporting), diagnostic)


def test_a_reply_without_hosts_is_known_by_its_provider_mark() -> None:
    google = _fact("", "", "", "421 4.7.0 IP not in whitelist for RCPT domain - gsmtp")
    microsoft = _fact("", "", "", "550 5.7.1 x [BN8NAM12FT012.eop.prod.protection.outlook.com]")
    assert (provider_of(google, BOOK) or BOOK.providers[0]).name == "google"
    assert (provider_of(microsoft, BOOK) or BOOK.providers[0]).name == "microsoft"
    assert provider_of(_fact("", "", "", "550 5.7.1 blocked"), BOOK) is None
