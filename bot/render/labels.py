"""How the facts of a finding (`Finding.fields`) are named and ordered for people.

The ONE presentation table for the terminal (bot.render.text) and Slack (bot.render.blocks).
The JSON output keeps the raw keys: they are a contract. Labels are plain text; each renderer
escapes them for its medium. A key without a label is shown with `_` replaced by spaces.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeVar

V = TypeVar("V")

# In the order facts are shown: where it happened, what was presented, what went wrong, then
# counts and times. Keys not listed keep their own order after these.
LABELS: Mapping[str, str] = {
    # where
    "fqdn": "Host",
    "remote_host": "Remote host",
    "ip": "IP",
    "sending_ip": "Sending IP",
    "port": "Port",
    "remote_port": "Remote port",
    "local_port": "Local port",
    "reporting_mta": "Reporting MTA",
    "last_attempted_server_name": "Last attempted server",
    "server": "Server",
    "connector": "Connector",
    "connector_id": "Connector ID",
    "session": "Session",
    "generating_server": "Generating server",
    "remote_ip": "Remote IP",
    "local_ip": "Local IP",
    "remote_ehlo": "Remote EHLO",
    "capabilities": "Capabilities",
    "healthy_ip": "Healthy address",
    "addresses": "Addresses",
    "unhealthy_addresses": "Failing addresses",
    "servers": "Servers",
    "source_server": "Installed on",
    # what was presented or expected
    "tls_certificate_name": "TlsCertificateName",
    "expected_tls_certificate_name": "Expected TlsCertificateName",
    "thumbprint": "Thumbprint",
    "healthy_thumbprint": "Healthy thumbprint",
    "thumbprints": "Thumbprints",
    "subject": "Subject",
    "issuer": "Issuer",
    "subject_windows": "Subject (Windows form)",
    "issuer_windows": "Issuer (Windows form)",
    "common_name": "Common name",
    "sans": "SANs",
    "expected_names": "Expected names",
    "expected_name": "Expected name",
    "names": "Names",
    "missing": "Missing",
    "not_after": "Expires",
    "not_before": "Valid from",
    "self_signed": "Self-signed",
    "key": "Key",
    "signature_algorithm": "Signature",
    "vendor": "Vendor",
    "appliance": "Appliance",
    "appliance_kind": "Appliance kind",
    "tls_version": "TLS version",
    "tls_domain": "TLS domain",
    "tls_name": "TLS name",
    "tls_sender_certificate_name": "TlsSenderCertificateName",
    "expected_thumbprint": "Expected thumbprint",
    "configured": "Configured",
    "expected": "Expected",
    "property": "Property",
    # what went wrong
    "led": "Last error",
    "trace_status": "Trace status",
    "diagnostic": "Reply text",
    "command": "SMTP command",
    "inner_status": "Inner status",
    "action": "Action",
    "reason": "Reason",
    "provider": "Provider",
    "text": "Text",
    "message": "Message",
    "msg": "Message",
    "meaning": "Meaning",
    "error": "Error",
    "tls_error": "TLS error",
    "failure": "Failure",
    "step": "Step",
    "reply": "Reply",
    "smtp_reply": "SMTP reply",
    "banner": "Banner",
    "status": "Status",
    "reply_code": "Reply code",
    "chain_status": "Chain status",
    "chain_presented": "Chain presented",
    "cname_chain": "CNAME chain",
    # whose mail
    "recipient": "Recipient",
    "sender": "Sender",
    "original_recipient": "Original recipient",
    "mailbox": "Mailbox",
    "message_id": "Message-ID",
    "message_subject": "Message subject",
    "recipient_domain": "Recipient domain",
    "sender_domain": "Sender domain",
    "x500_address": "X500 address",
    "domain": "Domain",
    "next_hop_domain": "Next hop domain",
    "direction": "Direction",
    "queue": "Queue",
    "queue_status": "Queue status",
    "message_count": "Messages",
    "log_type": "Log type",
    "exchange_online": "Exchange Online",
    "mta": "MTA",
    "event_id": "Event ID",
    "source_name": "Event source",
    "source_context": "Source context",
    "queue_id": "Queue ID",
    "program": "Program",
    "pieces": "Read",
    "joined": "Explains",
    "config_rule": "Rule",
    "connector_kind": "Connector kind",
    # DANE, MTA-STS, TLS-RPT (check findings and TLS-RPT reports)
    "policy_domain": "Policy domain",
    "policy_type": "Policy type",
    "mx_patterns": "MX patterns",
    "sending_mta_ip": "Sending MTA",
    "receiving_mx_helo": "Receiving MX HELO",
    "result_type": "Result type",
    "reported_result": "Reported result",
    "failure_reason_code": "Failure reason code",
    "additional_information": "More information",
    "organization": "Reporting organization",
    "report_id": "Report ID",
    "date_range": "Report period",
    "tlsrpt_error": "JSON error",
    "tlsa_name": "TLSA name",
    "records": "TLSA records",
    "expected_record": "TLSA record for this certificate",
    "dnssec": "DNSSEC",
    "validation": "DNSSEC judged by",
    "mode": "MTA-STS mode",
    "url": "Policy URL",
    # counts and times
    "occurrences": "Seen",
    "successful_sessions": "Successful sessions",
    "failed_sessions": "Failed sessions",
    "detail_failed_sessions": "Failed sessions (this failure)",
    "attempts": "Attempts",
    "count": "Count",
    "lrt": "Last retry",
    "timestamp": "Time",
    "first_seen": "First seen",
    "last_seen": "Last seen",
    "last_timestamp": "Last time",
    "serial": "Serial",
    "sha256": "SHA-256",
}
_RANK = {key: rank for rank, key in enumerate(LABELS)}


def label(key: str) -> str:
    """The human name of a fact: "led" → "Last error"; unknown keys: "remote_mta" →
    "remote mta"."""
    return LABELS.get(key) or key.replace("_", " ")


def ordered(facts: Iterable[tuple[str, V]]) -> list[tuple[str, V]]:
    """Facts most useful first (the order of LABELS); unlabelled ones after, in their order."""
    items = list(facts)
    return sorted(items, key=lambda item: _RANK.get(item[0], len(_RANK)))
