"""Every rule of the knowledge base against realistic samples and near misses."""

# ruff: noqa: E501  (realistic error texts are long one-liners)

from __future__ import annotations

import re
import time
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core import powershell
from bot.core.diagnose.engine import MAX_FINDINGS, TRUNCATED_ID, RuleEngine, findings_from_events
from bot.core.enhanced_status import EnhancedStatus
from bot.core.enhanced_status import parse as parse_status
from bot.core.knowledge import KNOWN_FIELDS, load_knowledge
from bot.core.models import BOUNCE_REASONS, FieldValue, Finding, Severity
from bot.core.traces.events import EventKind, InputKind, MailEvent

K = load_knowledge()
TRACE, NDR, QUEUE, PLOG, POSTFIX, TEXT = (
    InputKind.MESSAGE_TRACE,
    InputKind.NDR,
    InputKind.QUEUE,
    InputKind.PROTOCOL_LOG,
    InputKind.POSTFIX,
    InputKind.TEXT,
)
INJECTION = "CN=x'; Remove-Item C:\\ -Recurse; '"
THUMB = "3F2A9C0D4E5B6A7980A1B2C3D4E5F60718293A4B"
FRONTEND = "SERVER1\\Default Frontend SERVER1"


def ev(
    text: str,
    status: str | None = None,
    reply: str | None = None,
    source: InputKind = NDR,
    kind: EventKind = EventKind.SMTP_ERROR,
    **fields: FieldValue,
) -> MailEvent:
    return MailEvent(source, kind, text, status, reply, fields)


def led(code: str, status: str, detail: str, host: str = "mail.contoso.com") -> MailEvent:
    text = (
        f"{code} {status} {detail} [LastAttemptedServerName={host}] "
        "[LastAttemptedIP=203.0.113.5:25]"
    )
    message = detail.partition("[Message=")[2].rstrip("]") or None
    fields: dict[str, FieldValue] = {"fqdn": host, "ip": "203.0.113.5"}
    if message:
        fields["message"] = message
    return MailEvent(TRACE, EventKind.SMTP_ERROR, text, status, code, fields)


def cert(
    connector: str | None = FRONTEND,
    subject: str = "CN=SERVER1",
    issuer: str = "CN=SERVER1",
    sans: tuple[str, ...] = ("SERVER1", "SERVER1.corp.contoso.local"),
    kind: EventKind = EventKind.CERT_PRESENTED,
    **extra: FieldValue,
) -> MailEvent:
    fields: dict[str, FieldValue] = {
        "subject": subject,
        "issuer": issuer,
        "sans": sans,
        "thumbprint": THUMB,
        "session": "08DC2B5A1F3E4C71",
        **extra,
    }
    if connector is not None:
        fields["connector"] = connector
    return ev("Sending certificate", None, None, PLOG, kind, **fields)


PUBLIC_SUBJECT = "CN=mail.contoso.com, O=Contoso Ltd, C=US"
PUBLIC_ISSUER = "CN=R3, O=Let's Encrypt, C=US"

# (rule id, variant, events): the first finding of diagnosing the events must be that rule.
SAMPLES: list[tuple[str, str, list[MailEvent]]] = [
    (
        "exo.tls.subject_mismatch",
        "",
        [led("450", "4.7.320", "Certificate validation failed [Message=SubjectMismatch]")],
    ),
    (
        "exo.tls.certificate_expired",
        "",
        [led("450", "4.7.320", "Certificate validation failed [Message=CertificateExpired]")],
    ),
    (
        "exo.tls.chain_incomplete",
        "",
        [led("450", "4.7.320", "Certificate validation failed [Message=PartialChain]")],
    ),
    (
        "exo.tls.untrusted_chain",
        "",
        [led("450", "4.7.320", "Certificate validation failed [Message=UntrustedRoot]")],
    ),
    (
        "exo.tls.certificate_revoked",
        "",
        [led("450", "4.7.320", "Certificate validation failed [Message=RevocationStatusUnknown]")],
    ),
    (
        "exo.tls.appliance",
        "",
        [
            led(
                "450",
                "4.7.320",
                "Certificate validation failed [Message=SubjectMismatch]",
                "barracuda.contoso.com",
            )
        ],
    ),
    (
        "exo.tls.certificate_validation_failed",
        "",
        [
            led(
                "450",
                "4.7.320",
                "Certificate validation failed [Message=CertificateInvalidForUsage]",
            )
        ],
    ),
    (
        "exo.connector.dns_failed",
        "",
        [
            led(
                "450",
                "4.4.312",
                "DNS query failed. The error was: DNS query failed with error: ErrorRetry",
            )
        ],
    ),
    (
        "exo.connector.timed_out",
        "",
        [led("450", "4.4.315", "Connection timed out [Message=Socket error code 10060]")],
    ),
    (
        "exo.connector.refused",
        "",
        [led("450", "4.4.316", "Connection refused [Message=Socket error code 10061]")],
    ),
    (
        "exo.connector.tls_required_not_offered",
        "",
        [
            led(
                "450",
                "4.4.317",
                "Cannot connect to remote server [Message=451 5.7.3 STARTTLS is required to send mail]",
            )
        ],
    ),
    (
        "exo.connector.cannot_connect",
        "",
        [
            led(
                "450",
                "4.4.317",
                "Cannot connect to remote server [Message=421 4.3.2 Service not available]",
            )
        ],
    ),
    (
        "exo.connector.closed_abruptly",
        "",
        [led("450", "4.4.318", "Connection was closed abruptly")],
    ),
    ("exo.tls.starttls_stripped", "", [ev("250-XXXXXXXA", source=PLOG, fqdn="mail.contoso.com")]),
    (
        "exo.connector.certificate_domain_not_accepted",
        "",
        [
            ev(
                "550 5.7.64 TenantAttribution; Relay Access Denied ATTR36. For more details please refer to KB 3169958",
                "5.7.64",
                "550",
                NDR,
                sender="app@contoso.com",
            )
        ],
    ),
    (
        "exo.connector.tenant_attribution",
        "",
        [
            ev(
                "550 5.7.64 TenantAttribution; Relay Access Denied [BN1NAM02FT012.eop-nam02.prod.protection.outlook.com]",
                "5.7.64",
                "550",
            )
        ],
    ),
    (
        "exo.tls.protocol_outdated",
        "",
        [
            ev(
                "421 4.7.66 TLS 1.0 and 1.1 are not supported. Please upgrade/update your client to support TLS 1.2.",
                "4.7.66",
                "421",
                QUEUE,
            )
        ],
    ),
    (
        "exo.dane.starttls_not_supported",
        "",
        [
            ev(
                "550 5.7.321 starttls-not-supported: Destination mail server must support TLS to receive mail.",
                "5.7.321",
                "550",
                fqdn="mx.fabrikam.com",
            )
        ],
    ),
    (
        "exo.dane.certificate_expired",
        "",
        [
            ev(
                "451 4.7.322 certificate-expired: Destination mail server's certificate is expired.",
                "4.7.322",
                "451",
                TRACE,
            )
        ],
    ),
    (
        "exo.dane.tlsa_invalid",
        "",
        [ev("550 5.7.323 tlsa-invalid: The domain failed DANE validation.", "5.7.323", "550")],
    ),
    (
        "exo.dane.dnssec_invalid",
        "",
        [
            ev(
                "550 5.7.324 dnssec-invalid: Destination domain returned invalid DNSSEC records",
                "5.7.324",
                "550",
            )
        ],
    ),
    (
        "exo.dane.certificate_host_mismatch",
        "",
        [
            ev(
                "550 5.7.325 certificate-host-mismatch: Remote certificate MUST have a common name or subject alternative name matching the hostname (DANE)",
                "5.7.325",
                "550",
            )
        ],
    ),
    (
        "queue.tls_certificate_not_found",
        "",
        [
            ev(
                "454 4.7.5 The certificate specified in TlsCertificateName of the SendConnector could not be found.",
                "4.7.5",
                "454",
                QUEUE,
                server="EX01",
                connector="Outbound to Office 365 - 4f1c",
            )
        ],
    ),
    (
        "queue.tls_no_credentials",
        "",
        [
            ev(
                '451 4.4.0 Primary target IP address responded with: "421 4.4.1 Connection timed out." TLS negotiation failed with error NoCredentials',
                None,
                None,
                QUEUE,
                server="EX01",
            )
        ],
    ),
    (
        "queue.connection_timed_out",
        "",
        [
            ev(
                "421 4.4.1 Connection timed out. Attempted failover to alternate host, but that did not succeed.",
                "4.4.1",
                "421",
                QUEUE,
                fqdn="contoso-com.mail.protection.outlook.com",
            )
        ],
    ),
    (
        "queue.starttls_required",
        "",
        [ev("451 5.7.3 STARTTLS is required to send mail", "5.7.3", "451", QUEUE)],
    ),
    ("protocol.cert.self_signed", "receive_expected", [cert(fqdn="hybrid.contoso.com")]),
    ("protocol.cert.self_signed", "receive", [cert()]),
    ("protocol.cert.self_signed", "send", [cert(connector="Outbound to Office 365 - 4f1c")]),
    ("protocol.cert.self_signed", "any", [cert(connector=None)]),
    (
        "protocol.cert.name_mismatch",
        "receive",
        [
            cert(
                sans=("mail.contoso.com",),
                fqdn="hybrid.contoso.com",
                subject=PUBLIC_SUBJECT,
                issuer=PUBLIC_ISSUER,
            )
        ],
    ),
    (
        "protocol.cert.name_mismatch",
        "any",
        [
            cert(
                connector=None,
                sans=("mail.contoso.com",),
                fqdn="hybrid.contoso.com",
                subject=PUBLIC_SUBJECT,
                issuer=PUBLIC_ISSUER,
            )
        ],
    ),
    (
        "protocol.cert.expired",
        "",
        [
            cert(
                sans=("hybrid.contoso.com",),
                subject="CN=hybrid.contoso.com",
                issuer=PUBLIC_ISSUER,
                not_after="2026-10-01T00:00:00Z",
                last_seen="2026-11-22T10:15:02.123Z",
            )
        ],
    ),
    (
        "protocol.connector.hybrid_capability_missing",
        "",
        [
            cert(
                sans=("hybrid.contoso.com",),
                subject="CN=hybrid.contoso.com",
                issuer=PUBLIC_ISSUER,
                exchange_online="yes",
                capabilities="None",
            )
        ],
    ),
    (
        "protocol.cert.appliance",
        "",
        [
            cert(
                kind=EventKind.REMOTE_CERT,
                subject="CN=mx.contoso.com",
                issuer="CN=Barracuda Networks CA, O=Barracuda Networks",
                sans=("mx.contoso.com",),
            )
        ],
    ),
    (
        "tls.negotiation_failed",
        "exchange",
        [
            ev(
                "TLS negotiation failed with error SocketError",
                source=PLOG,
                kind=EventKind.TLS_FAILURE,
                connector=FRONTEND,
            )
        ],
    ),
    (
        "tls.negotiation_failed",
        "",
        [
            ev(
                "SSL_connect error to mx.fabrikam.com[198.51.100.7]:25: -1",
                source=POSTFIX,
                kind=EventKind.TLS_FAILURE,
                fqdn="mx.fabrikam.com",
            )
        ],
    ),
    (
        "mta.tls.certificate_verification_failed",
        "",
        [
            ev(
                "certificate verification failed for mx.fabrikam.com[198.51.100.7]:25: untrusted issuer /C=US/O=Fabrikam/CN=Fabrikam CA",
                source=POSTFIX,
                fqdn="mx.fabrikam.com",
            )
        ],
    ),
    (
        "tls.negotiation_failed",
        "mta_deferred",
        [
            ev(
                "Cannot start TLS: handshake failure",
                "4.7.5",
                source=POSTFIX,
                fqdn="mx.fabrikam.com",
                ip="198.51.100.7",
                tls_error="Cannot start TLS: handshake failure",
            )
        ],
    ),
    (
        "mta.tls.certificate_verification_failed",
        "opportunistic",
        [
            ev(
                "Untrusted TLS connection established to mx.fabrikam.com[198.51.100.7]:25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)",
                source=POSTFIX,
                kind=EventKind.TLS_FAILURE,
                fqdn="mx.fabrikam.com",
            )
        ],
    ),
    (
        "mta.tls.certificate_verification_failed",
        "",
        [
            ev(
                "TLS error on connection to mx.fabrikam.com [198.51.100.7] (gnutls_handshake): The certificate is NOT trusted. The certificate issuer is unknown.",
                source=InputKind.EXIM,
                kind=EventKind.TLS_FAILURE,
                fqdn="mx.fabrikam.com",
            )
        ],
    ),
    (
        "mta.tls.not_offered",
        "ehlo_reply",
        [
            ev(
                "STARTTLS not advertised in the EHLO reply",
                source=TEXT,
                kind=EventKind.TLS_FAILURE,
                fqdn="mx.fabrikam.com",
            )
        ],
    ),
    (
        "exo.tls.starttls_stripped",
        "",
        [
            ev(
                "EHLO reply with keywords masked by SMTP inspection: 250 XXXXXXXA, 250 XXXXXXXB",
                source=PLOG,
                kind=EventKind.TLS_FAILURE,
                fqdn="mail.contoso.com",
            )
        ],
    ),
    (
        "mta.tls.not_offered",
        "",
        [
            ev(
                "TLS is required, but was not offered by host mx.fabrikam.com[198.51.100.7]",
                source=POSTFIX,
                fqdn="mx.fabrikam.com",
            )
        ],
    ),
    (
        "ndr.recipient_not_found_legacy_dn",
        "",
        [
            ev(
                "Remote Server returned '550 5.1.1 RESOLVER.ADR.ExRecipNotFound; not found' IMCEAEX-_o=First+20Organization_ou=Exchange+20Administrative+20Group",
                "5.1.1",
                "550",
                recipient="IMCEAEX-_o=First@contoso.com",
            )
        ],
    ),
    (
        "ndr.recipient_not_found",
        "",
        [
            ev(
                "550 5.1.1 The email account that you tried to reach does not exist.",
                "5.1.1",
                "550",
                recipient="jdoe@fabrikam.com",
            )
        ],
    ),
    (
        "ndr.recipient_not_found_smtp_lookup",
        "",
        [
            ev(
                "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient jdoe@contoso.com not found by SMTP address lookup",
                "5.1.10",
                "550",
                recipient="jdoe@contoso.com",
            )
        ],
    ),
    (
        "ndr.sender_blocked_outbound_spam",
        "",
        [
            ev(
                "550 5.1.8 Access denied, bad outbound sender",
                "5.1.8",
                "550",
                sender="kim@contoso.com",
            )
        ],
    ),
    (
        "ndr.submission_quota_exceeded",
        "",
        [
            ev(
                "554 5.2.2 mailbox full; STOREDRV.Submission.Exception:SubmissionQuotaExceededException; The message can't be submitted because the sender's submission quota was exceeded.",
                "5.2.2",
                "554",
            )
        ],
    ),
    (
        "ndr.mailbox_full",
        "",
        [ev("552 5.2.2 Mailbox full", "5.2.2", "552", recipient="pat@fabrikam.com")],
    ),
    (
        "ndr.message_exceeds_limit",
        "",
        [
            ev(
                "552 5.2.3 RESOLVER.RST.RecipSizeLimit; message too large for this recipient",
                "5.2.3",
                "552",
            )
        ],
    ),
    (
        "ndr.message_too_big",
        "",
        [ev("552 5.3.4 Message size exceeds fixed maximum message size", "5.3.4", "552")],
    ),
    (
        "ndr.recipient_rejected_dbeb",
        "",
        [
            ev(
                "550 5.4.1 Recipient address rejected: Access denied. AS(201806281)",
                "5.4.1",
                "550",
                recipient="old.user@contoso.com",
            )
        ],
    ),
    (
        "ndr.relay_denied",
        "",
        [ev("550 5.4.1 Relay Access Denied", "5.4.1", "550", recipient="ann@contoso.com")],
    ),
    (
        "ndr.routing_loop",
        "",
        [ev("554 5.4.14 Hop count exceeded - possible mail loop ATTR34", "5.4.14", "554")],
    ),
    (
        "ndr.message_expired",
        "",
        [
            ev(
                "550 4.4.7 QUEUE.Expired; message expired",
                "4.4.7",
                "550",
                TRACE,
                fqdn="mail.contoso.com",
            )
        ],
    ),
    (
        "ndr.bare_line_feed",
        "",
        [
            ev(
                "550 5.6.11 SMTPSEND.BareLinefeedsAreIllegal; message contains bare linefeeds",
                "5.6.11",
                "550",
            )
        ],
    ),
    (
        "ndr.client_not_authenticated",
        "",
        [ev("530 5.7.1 Client was not authenticated", "5.7.1", "530", fqdn="mail.contoso.com")],
    ),
    (
        "ndr.unable_to_relay",
        "",
        [ev("550 5.7.1 Unable to relay", "5.7.1", "550", recipient="x@fabrikam.com")],
    ),
    (
        "ndr.not_authorized",
        "",
        [
            ev(
                "550 5.7.1 RESOLVER.RST.AuthRequired; authentication required",
                "5.7.1",
                "550",
                recipient="allstaff@contoso.com",
            )
        ],
    ),
    (
        "ndr.sender_not_authenticated_for_recipient",
        "",
        [
            ev(
                "550 5.7.133 RESOLVER.RST.SenderNotAuthenticatedForGroup; authentication required",
                "5.7.133",
                "550",
                recipient="team@contoso.com",
            )
        ],
    ),
    (
        "ndr.spf_failed",
        "",
        [
            ev(
                "550 5.7.23 The message was rejected because of Sender Policy Framework violation",
                "5.7.23",
                "550",
                sender="news@fabrikam.com",
            )
        ],
    ),
    (
        "ndr.ipv6_no_reverse_dns",
        "",
        [
            ev(
                "550 5.7.25 Access denied, the sending IPv6 address [2001:db8::25] must have a reverse DNS record",
                "5.7.25",
                "550",
            )
        ],
    ),
    (
        "ndr.ipv6_not_authenticated",
        "",
        [
            ev(
                "450 4.7.26 Access denied, a message sent over IPv6 [2001:db8::25] must pass either SPF or DKIM validation, this message is not signed",
                "4.7.26",
                "450",
            )
        ],
    ),
    (
        "ndr.authentication_failed",
        "",
        [
            ev(
                "550 5.7.26 This mail has been blocked because the sender is unauthenticated.",
                "5.7.26",
                "550",
                sender="ceo@fabrikam.com",
            )
        ],
    ),
    (
        "ndr.authentication_failed",
        "text",
        [
            ev(
                "550-5.7.1 Unauthenticated email from fabrikam.com is not accepted due to domain's DMARC policy. Please contact the administrator of fabrikam.com domain if this was a legitimate mail.",
                "5.7.1",
                "550",
                POSTFIX,
                sender="billing@fabrikam.com",
            )
        ],
    ),
    (
        "ndr.smtp_auth_required",
        "",
        [ev("530 5.7.57 Client not authenticated to send mail. [AM0PR01CA0001]", "5.7.57", "530")],
    ),
    (
        "ndr.sender_not_allowed",
        "",
        [
            ev(
                "550 5.7.124 Sender not in allowed-senders list",
                "5.7.124",
                "550",
                recipient="board@contoso.com",
                sender="x@fabrikam.com",
            )
        ],
    ),
    (
        "ndr.spam_abuse_detected",
        "",
        [ev("550 5.7.501 Access denied, spam abuse detected", "5.7.501", "550")],
    ),
    ("ndr.sender_banned", "", [ev("550 5.7.503 Access denied, banned sender", "5.7.503", "550")]),
    (
        "ndr.sending_ip_banned",
        "",
        [
            ev(
                "550 5.7.606 Access denied, banned sending IP [192.0.2.44]",
                "5.7.606",
                "550",
                ip="192.0.2.44",
            )
        ],
    ),
    (
        "ndr.tenant_ip_not_accepted",
        "",
        [ev("550 5.7.708 Access denied, traffic not accepted from this IP", "5.7.708", "550")],
    ),
    (
        "ndr.tenant_sending_blocked",
        "",
        [ev("550 5.7.705 Access denied, tenant has exceeded threshold", "5.7.705", "550")],
    ),
    (
        "ndr.unregistered_domain",
        "",
        [
            ev(
                "550 5.7.750 Service unavailable. Client blocked from sending from unregistered domains",
                "5.7.750",
                "550",
            )
        ],
    ),
    (
        "ndr.throttled",
        "",
        [ev("451 4.7.550 Access denied, please try again later", "4.7.550", "451")],
    ),
    ("status.generic", "", [ev("550 5.3.0 Other undefined mail system status", "5.3.0", "550")]),
]


def diagnose(events: list[MailEvent]) -> tuple[Finding, ...]:
    return findings_from_events(events, K)


@pytest.mark.parametrize(
    ("rule_id", "variant", "events"), SAMPLES, ids=[f"{s[0]}:{s[1]}" for s in SAMPLES]
)
def test_every_rule_fires_on_its_sample(
    rule_id: str, variant: str, events: list[MailEvent]
) -> None:
    findings = diagnose(events)
    assert findings, "nothing recognised"
    top = findings[0]
    assert top.id == rule_id
    rule = K.rule(rule_id, variant)
    assert top.summary and top.explanation
    assert "{" not in top.summary and "?" not in top.summary.split()
    assert top.reason in BOUNCE_REASONS
    assert top.severity == rule.severity_for(None if top.status is None else _status(top.status))
    # the variant is visible through its distinct summary template's fixed words
    fixed = re.sub(r"\{[^{}]*\}", " ", rule.summary).split()[:3]
    assert all(word in top.summary for word in fixed)
    assert top.fields["occurrences"] == 1


def _status(text: str) -> EnhancedStatus | None:
    return parse_status(text)


def test_samples_cover_every_rule_of_the_knowledge_base() -> None:
    covered = {(rule_id, variant) for rule_id, variant, _ in SAMPLES} | {(TRUNCATED_ID, "")}
    assert {(r.id, r.variant) for r in K.rules} == covered


# (events, id that must NOT be the top finding, id that must be)
NEAR_MISSES: list[tuple[list[MailEvent], str, str]] = [
    (
        [led("450", "4.7.320", "Certificate validation failed")],
        "exo.tls.subject_mismatch",
        "exo.tls.certificate_validation_failed",
    ),
    (
        [led("450", "4.7.321", "Certificate validation failed [Message=SubjectMismatch]")],
        "exo.tls.subject_mismatch",
        "exo.dane.starttls_not_supported",
    ),
    (
        [
            led(
                "450",
                "4.7.320",
                "Certificate validation failed [Message=SubjectMismatch]",
                "mail.sanfrancisco-autos.com",
            )
        ],
        "exo.tls.appliance",
        "exo.tls.subject_mismatch",
    ),
    (
        [ev("550 5.7.64 TenantAttribution; Relay Access Denied", "5.7.64", "550")],
        "exo.connector.certificate_domain_not_accepted",
        "exo.connector.tenant_attribution",
    ),
    (
        [ev("550 5.4.1 Relay Access Denied", "5.4.1", "550")],
        "ndr.recipient_rejected_dbeb",
        "ndr.relay_denied",
    ),
    (
        [ev("550 5.7.605 Access denied", "5.7.605", "550")],
        "ndr.sending_ip_banned",
        "status.generic",
    ),
    (
        [ev("550 5.7.650 Access denied", "5.7.650", "550")],
        "ndr.sending_ip_banned",
        "status.generic",
    ),
    (
        [ev("550 5.7.750 Client blocked", "5.7.750", "550")],
        "ndr.tenant_sending_blocked",
        "ndr.unregistered_domain",
    ),
    (
        [ev("550 5.7.708 Access denied", "5.7.708", "550")],
        "ndr.tenant_sending_blocked",
        "ndr.tenant_ip_not_accepted",
    ),
    (
        [ev("550 5.7.699 Access denied", "5.7.699", "550")],
        "ndr.tenant_sending_blocked",
        "status.generic",
    ),
    (
        [
            led(
                "450",
                "4.4.317",
                "Cannot connect to remote server [Message=421 Service not available]",
            )
        ],
        "exo.connector.tls_required_not_offered",
        "exo.connector.cannot_connect",
    ),
    (
        [ev("550 5.1.1 User unknown", "5.1.1", "550")],
        "ndr.recipient_not_found_legacy_dn",
        "ndr.recipient_not_found",
    ),
    (
        [ev("421 4.4.1 Host unreachable", "4.4.1", "421", QUEUE)],
        "queue.connection_timed_out",
        "status.generic",
    ),
    (
        [
            ev(
                "TLS negotiation failed with error UnknownCredentials",
                source=PLOG,
                kind=EventKind.TLS_FAILURE,
            )
        ],
        "queue.tls_no_credentials",
        "tls.negotiation_failed",
    ),
    (
        [ev("550 5.7.137 Access denied", "5.7.137", "550")],
        "ndr.sender_not_authenticated_for_recipient",
        "status.generic",
    ),
    (
        [ev("550 5.7.12 Sender was not authenticated by organization", "5.7.12", "550")],
        "status.generic",
        "ndr.sender_not_authenticated_for_recipient",
    ),
    (
        [ev("552 5.2.2 Mailbox full", "5.2.2", "552")],
        "ndr.submission_quota_exceeded",
        "ndr.mailbox_full",
    ),
    (
        [ev("550 5.7.1 Delivery not authorized", "5.7.1", "550")],
        "ndr.unable_to_relay",
        "ndr.not_authorized",
    ),
    (
        [ev("450 4.7.1 Greylisted, try again later", "4.7.1", "450", POSTFIX)],
        "ndr.not_authorized",
        "status.generic",
    ),
    ([ev("550 5.1.11 Something", "5.1.11", "550")], "ndr.recipient_not_found", "status.generic"),
]


@pytest.mark.parametrize(
    ("events", "wrong", "right"), NEAR_MISSES, ids=[n[2] + "<-" + n[1] for n in NEAR_MISSES]
)
def test_near_misses_pick_the_right_rule(events: list[MailEvent], wrong: str, right: str) -> None:
    findings = diagnose(events)
    assert findings[0].id == right
    assert wrong not in {f.id for f in findings}


def test_enhanced_status_ranges_include_both_ends() -> None:
    for code in ("5.7.606", "5.7.627", "5.7.649"):
        assert (
            diagnose([ev(f"550 {code} Access denied, banned sending IP", code, "550")])[0].id
            == "ndr.sending_ip_banned"
        )
    for code in ("5.7.700", "5.7.749"):
        assert (
            diagnose([ev(f"550 {code} Access denied", code, "550")])[0].id
            == "ndr.tenant_sending_blocked"
        )
    for code in ("4.7.321", "5.7.321"):
        assert (
            diagnose([ev(f"{code} starttls-not-supported", code)])[0].id
            == "exo.dane.starttls_not_supported"
        )
    # the class matters: a 2.x.x success is not an error rule
    assert diagnose([ev("250 2.7.606 ok", "2.7.606", "250")])[0].id == "status.generic"


def test_text_and_status_beat_status_only_and_text_only() -> None:
    # 4.4.317 with STARTTLS text: text+status rule wins over the status-only and text-only ones
    event = led(
        "450",
        "4.4.317",
        "Cannot connect to remote server [Message=451 5.7.3 STARTTLS is required to send mail]",
    )
    assert diagnose([event])[0].id == "exo.connector.tls_required_not_offered"
    ranked = [r.id for r in K.rules]
    assert ranked.index("exo.connector.tls_required_not_offered") < ranked.index(
        "queue.starttls_required"
    )
    assert ranked.index("queue.starttls_required") < ranked.index("exo.connector.cannot_connect")
    assert ranked.index("ndr.tenant_ip_not_accepted") < ranked.index("ndr.tenant_sending_blocked")
    assert ranked[-2:] == ["status.generic", TRUNCATED_ID]


def test_generic_fallback_gives_the_rfc3463_meaning() -> None:
    (finding,) = diagnose([ev("550 5.3.0 Unknown problem", "5.3.0", "550", fqdn="mx.fabrikam.com")])
    assert finding.id == "status.generic"
    assert finding.severity is Severity.ERROR
    assert finding.status == "5.3.0" and finding.reply_code == "550"
    assert "Permanent failure" in finding.summary and "Mail system" in finding.summary
    assert finding.reason == "systemerror"
    assert finding.fields["meaning"] == finding.summary.split(": ", 1)[1]
    assert finding.probe == "mx.fabrikam.com"
    temporary = diagnose([ev("451 4.4.3 Directory server failure", "4.4.3", "451")])[0]
    assert temporary.severity is Severity.WARNING and temporary.reason == "networkerror"
    success = diagnose([ev("250 2.0.0 OK", "2.0.0", "250")])[0]
    assert success.severity is Severity.INFO and success.reason == "delivered"
    vendor = diagnose([ev("550 5.9.999 odd", "5.9.999", "550")])[0]
    assert vendor.id == "status.generic" and "vendor-specific" in vendor.summary
    assert (
        diagnose([ev("550 5.7.29 ARC validation failure", "5.7.29", "550")])[0].reason
        == "authfailure"
    )


@pytest.mark.parametrize(
    "text",
    [
        "Can we move the standup to 10:30? The 5.1 release notes are ready.",
        "lunch? <!channel> <@U024BE7LH> :tada:",
        "Die Besprechung ist um 14 Uhr. Grüße, Jürgen",
        "version 1.2.3 of the app is out, see https://example.com/5.7.1",
        "XXXXXXXX",
        "our cisco switch rebooted",
    ],
)
def test_ordinary_chat_events_give_no_findings(text: str) -> None:
    assert diagnose([ev(text, source=TEXT)]) == ()


def test_nothing_for_a_good_certificate_that_covers_the_expected_name() -> None:
    good = cert(
        sans=("hybrid.contoso.com", "mail.contoso.com"),
        fqdn="hybrid.contoso.com",
        subject=PUBLIC_SUBJECT,
        issuer=PUBLIC_ISSUER,
    )
    assert diagnose([good]) == ()
    wildcard = cert(sans=("*.contoso.com",), subject=PUBLIC_SUBJECT, issuer=PUBLIC_ISSUER)
    trace = led(
        "450",
        "4.7.320",
        "Certificate validation failed [Message=SubjectMismatch]",
        "hybrid.contoso.com",
    )
    assert [f.id for f in diagnose([wildcard, trace])] == ["exo.tls.subject_mismatch"]


def test_self_signed_frontend_is_named_with_the_trace_fqdn_and_fix_targets_the_connector() -> None:
    trace = led(
        "450",
        "4.7.320",
        "Certificate validation failed [Message=SubjectMismatch]",
        "hybrid.contoso.com",
    )
    # the certificate comes first in the input, the trace that names the host afterwards
    findings = diagnose([cert(), cert(), trace])
    self_signed = next(f for f in findings if f.id == "protocol.cert.self_signed")
    assert self_signed.summary == (
        "SERVER1\\Default Frontend SERVER1 presented the self-signed CN=SERVER1 "
        "without hybrid.contoso.com in its SAN"
    )
    assert self_signed.severity is Severity.ERROR
    assert self_signed.fields["occurrences"] == 2
    assert self_signed.fields["expected_name"] == "hybrid.contoso.com"
    assert self_signed.probe == "hybrid.contoso.com"
    script = self_signed.fixes[0].powershell or ""
    assert "Set-ReceiveConnector -Identity 'SERVER1\\Default Frontend SERVER1'" in script
    assert "-TlsDomainCapabilities 'mail.protection.outlook.com:AcceptCloudServicesMail'" in script
    assert "Enable-ExchangeCertificate -Server 'SERVER1'" in script and "-Services SMTP" in script
    assert "'hybrid.contoso.com' -like $_" in script
    assert '"<I>$($c.Issuer)<S>$($c.Subject)"' in script
    assert "MSExchangeFrontEndTransport" in script


def test_self_signed_detection_compares_names_attribute_by_attribute() -> None:
    findings = diagnose([cert(subject="CN=SERVER1, O=Contoso", issuer="O=contoso,CN=server1")])
    assert findings[0].id == "protocol.cert.self_signed"
    assert (
        diagnose([cert(subject="CN=SERVER1", issuer="CN=Contoso Issuing CA", sans=("server1",))])
        == ()
    )
    flagged = diagnose([cert(subject="CN=a", issuer="CN=b", self_signed="true")])
    assert flagged[0].id == "protocol.cert.self_signed"


def test_name_mismatch_lists_the_names_and_uses_thumbprint_free_fix() -> None:
    finding = diagnose(
        [
            cert(
                sans=("mail.contoso.com", "autodiscover.contoso.com"),
                fqdn="hybrid.contoso.com",
                subject=PUBLIC_SUBJECT,
                issuer=PUBLIC_ISSUER,
            )
        ]
    )[0]
    assert finding.id == "protocol.cert.name_mismatch"
    assert "mail.contoso.com, autodiscover.contoso.com" in finding.explanation
    assert finding.fields["tls_certificate_name"] == (
        "<I>CN=R3, O=Let's Encrypt, C=US<S>CN=mail.contoso.com, O=Contoso Ltd, C=US"
    )


def test_fields_status_reason_and_probe_of_a_trace_finding() -> None:
    events = [
        replace(
            led(
                "450",
                "4.7.320",
                "Certificate validation failed [Message=SubjectMismatch]",
                "hybrid.contoso.com",
            ),
            fields={
                "fqdn": "hybrid.contoso.com",
                "ip": "203.0.113.5",
                "message": "SubjectMismatch",
                "recipient": f"user{i}@contoso.com",
                "timestamp": f"2026-11-22T10:0{i}:00Z",
            },
        )
        for i in range(3)
    ]
    (finding,) = diagnose(events)
    assert finding.status == "4.7.320" and finding.reply_code == "450"
    assert finding.reason == "failedstarttls" and finding.severity is Severity.ERROR
    assert finding.probe == "hybrid.contoso.com"
    assert finding.fields["occurrences"] == 3
    assert finding.fields["timestamp"] == "2026-11-22T10:00:00Z"
    assert finding.fields["last_timestamp"] == "2026-11-22T10:02:00Z"
    assert "hybrid.contoso.com" in finding.summary


def test_aggregation_keeps_distinct_facts_apart() -> None:
    a = led(
        "450", "4.7.320", "Certificate validation failed [Message=SubjectMismatch]", "a.contoso.com"
    )
    b = led(
        "450", "4.7.320", "Certificate validation failed [Message=SubjectMismatch]", "b.contoso.com"
    )
    findings = diagnose([a, b, a, a])
    assert sorted((f.fields["fqdn"], f.fields["occurrences"]) for f in findings) == [
        ("a.contoso.com", 3),
        ("b.contoso.com", 1),
    ]


def test_most_severe_first() -> None:
    events = [
        ev("250 2.0.0 OK", "2.0.0", "250"),
        ev("451 4.7.550 Access denied, please try again later", "4.7.550", "451"),
        ev("550 5.1.1 User unknown", "5.1.1", "550"),
    ]
    assert [f.severity for f in diagnose(events)] == [
        Severity.ERROR,
        Severity.WARNING,
        Severity.INFO,
    ]


def test_distinct_findings_are_capped_and_the_rest_counted() -> None:
    events = [
        ev(f"550 5.1.1 unknown user{i}", "5.1.1", "550", recipient=f"user{i}@contoso.com")
        for i in range(MAX_FINDINGS + 50)
    ]
    findings = diagnose(events)
    assert len(findings) == MAX_FINDINGS + 1
    truncated = findings[-1]
    assert truncated.id == TRUNCATED_ID and truncated.severity is Severity.INFO
    assert truncated.fields["count"] == 50 and "50" in truncated.summary


def test_fix_with_thumbprint_prefers_the_thumbprint_script() -> None:
    event = ev(
        "454 4.7.5 The certificate specified in TlsCertificateName of the SendConnector could not be found.",
        "4.7.5",
        "454",
        QUEUE,
        thumbprint="3f:2a:9c:0d:4e:5b:6a:79:80:a1:b2:c3:d4:e5:f6:07:18:29:3a:4b",
    )
    script = diagnose([event])[0].fixes[0].powershell or ""
    assert f"Get-ExchangeCertificate -Thumbprint '{THUMB}'" in script
    assert "Set-HybridConfiguration -TlsCertificateName $name" in script
    assert "foreach ($sc in Get-SendConnector" in script
    without = diagnose([replace(event, fields={})])[0]
    assert all(
        "Get-ExchangeCertificate -Thumbprint" not in (f.powershell or "") for f in without.fixes
    )
    assert any("Get-SendConnector | Format-List" in (f.powershell or "") for f in without.fixes)


def test_invalid_thumbprint_is_never_pasted() -> None:
    event = ev(
        "454 4.7.5 The certificate specified in TlsCertificateName of the SendConnector could not be found.",
        "4.7.5",
        "454",
        QUEUE,
        thumbprint="abc'; rm -rf",
    )
    scripts = " ".join(f.powershell or "" for f in diagnose([event])[0].fixes)
    assert "rm -rf" not in scripts


def _outside_single_quotes(script: str) -> str:
    """The script with every PowerShell single-quoted literal removed ('' is an escaped quote)."""
    out: list[str] = []
    in_literal = False
    i = 0
    while i < len(script):
        ch = script[i]
        if in_literal:
            if ch in "'\u2018\u2019\u201a\u201b":
                if script[i + 1 : i + 2] and script[i + 1] in "'\u2018\u2019\u201a\u201b":
                    i += 2
                    continue
                in_literal = False
        elif ch in "'\u2018\u2019\u201a\u201b":
            in_literal = True
        else:
            out.append(ch)
        i += 1
    assert not in_literal, "unterminated literal"
    return "".join(out)


@pytest.mark.parametrize(
    ("rule_id", "variant", "events"), SAMPLES, ids=[f"{s[0]}:{s[1]}" for s in SAMPLES]
)
def test_injection_subject_stays_inert_in_every_fix(
    rule_id: str, variant: str, events: list[MailEvent]
) -> None:
    poisoned = []
    for event in events:
        fields: dict[str, FieldValue] = {}
        for key, value in event.fields.items():
            if isinstance(value, str):
                fields[key] = (
                    f"{value}{INJECTION}" if key == "connector" and "\\" in value else INJECTION
                )
            else:
                fields[key] = value
        for key in (
            "subject",
            "issuer",
            "connector",
            "server",
            "recipient",
            "sender",
            "fqdn",
            "ip",
        ):
            fields.setdefault(key, INJECTION)
        poisoned.append(replace(event, fields=fields))
    findings = diagnose(poisoned + events)
    scripts = [fix.powershell for f in findings for fix in f.fixes if fix.powershell]
    assert scripts or all(not any(fx.powershell for fx in f.fixes) for f in findings)
    for script in scripts:
        assert "Remove-Item" not in _outside_single_quotes(script), script
        assert "\n" not in INJECTION or INJECTION not in script


def test_every_rendered_script_is_well_formed() -> None:
    for _, _, events in SAMPLES:
        for finding in diagnose(events):
            for fix in finding.fixes:
                assert fix.title and "{" not in fix.title.replace("{{", "")
                if fix.powershell:
                    assert "{{" not in fix.powershell
                    _outside_single_quotes(fix.powershell)
                    assert powershell.placeholders(fix.powershell) == set()


def test_engine_streams_and_is_reusable_stepwise() -> None:
    engine = RuleEngine(K)
    engine.feed(ev("550 5.1.1 unknown", "5.1.1", "550"))
    engine.feed(ev("550 5.1.1 unknown", "5.1.1", "550"))
    (finding,) = engine.findings()
    assert finding.fields["occurrences"] == 2


def test_huge_and_hostile_event_text_is_bounded() -> None:
    noise = "a" * 1_000_000 + " SubjectMismatch"
    start = time.perf_counter()
    finding = diagnose([ev(noise, "4.7.320", "450", TRACE, fqdn="mail.contoso.com")])[0]
    assert time.perf_counter() - start < 5.0
    # the pattern lies beyond the capped text: the generic 4.7.320 rule answers
    assert finding.id == "exo.tls.certificate_validation_failed"
    huge_sans = cert(
        sans=tuple(f"h{i}.contoso.com" for i in range(5000)),
        fqdn="hybrid.contoso.com",
        subject=PUBLIC_SUBJECT,
        issuer=PUBLIC_ISSUER,
    )
    finding = diagnose([huge_sans])[0]
    assert finding.id == "protocol.cert.name_mismatch"
    sans = finding.fields["sans"]
    assert isinstance(sans, tuple) and len(sans) <= 50


def test_hundred_thousand_events_in_well_under_a_second() -> None:
    trace = [
        led(
            "450",
            "4.7.320",
            "Certificate validation failed [Message=SubjectMismatch]",
            f"mail{i % 3}.contoso.com",
        )
        for i in range(3)
    ]
    events = []
    for i in range(100_000):
        pick = i % 5
        if pick == 0:
            events.append(
                replace(
                    trace[i % 3], fields={**trace[i % 3].fields, "recipient": f"u{i}@contoso.com"}
                )
            )
        elif pick == 1:
            events.append(
                ev(
                    f"550 5.1.1 RESOLVER.ADR.RecipientNotFound; user{i % 150}",
                    "5.1.1",
                    "550",
                    recipient=f"user{i % 150}@fabrikam.com",
                )
            )
        elif pick == 2:
            events.append(cert())
        elif pick == 3:
            events.append(ev(f"Connection {i} established; lunch at noon", source=TEXT))
        else:
            events.append(
                ev(
                    "TLS negotiation failed with error SocketError",
                    source=PLOG,
                    kind=EventKind.TLS_FAILURE,
                    connector=FRONTEND,
                )
            )
    # A guard against quadratic aggregation (which would take minutes), not a speed target:
    # the engine's speed is measured by benchmarks/bench_diagnose.py.
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        findings = findings_from_events(events, K)
        timings.append(time.perf_counter() - start)
    assert min(timings) < 10.0, f"{min(timings):.3f} s"
    ids = {f.id for f in findings}
    assert {
        "exo.tls.subject_mismatch",
        "ndr.recipient_not_found",
        "protocol.cert.self_signed",
        "tls.negotiation_failed",
    } <= ids
    counts = [f.fields["occurrences"] for f in findings if f.id == "ndr.recipient_not_found"]
    assert len(counts) == 30  # i % 150 for i = 1 mod 5
    assert sum(c for c in counts if isinstance(c, int)) == 20_000


def test_legacy_dn_ndr_yields_the_x500_proxy_address_fix() -> None:
    recipient = (
        "IMCEAEX-_o=First+20Organization_ou=Exchange+20Administrative+20Group+20"
        "+28FYDIBOHF23SPDLT+29_cn=Recipients_cn=3c500bf721d04aacb972ec8833f9ec00-ocs53@win.mail"
    )
    event = ev(
        "Remote Server returned '550 5.1.1 RESOLVER.ADR.ExRecipNotFound; not found'",
        "5.1.1",
        "550",
        recipient=recipient,
    )
    finding = diagnose([event])[0]
    assert finding.id == "ndr.recipient_not_found_legacy_dn"
    x500 = (
        "X500:/o=First Organization/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)"
        "/cn=Recipients/cn=3c500bf721d04aacb972ec8833f9ec00-ocs53"
    )
    assert finding.fields["x500_address"] == x500
    script = finding.fixes[0].powershell or ""
    assert script == (
        "Set-Mailbox -Identity '<mailbox that should receive these messages>' "
        f"-EmailAddresses @{{add='{x500}'}}"
    )
    # without an IMCEAEX address there is nothing to decode: the manual instruction instead
    plain = diagnose([replace(event, fields={"recipient": "kim@contoso.com"})])[0]
    assert all(fix.powershell is None or "X500" not in fix.powershell for fix in plain.fixes)
    assert any("IMCEAEX" in fix.title for fix in plain.fixes)


def test_subject_mismatch_offers_every_hybrid_lever() -> None:
    event = led(
        "450",
        "4.7.320",
        "Certificate validation failed [Message=SubjectMismatch]",
        "hybrid.contoso.com",
    )
    scripts = "\n".join(fix.powershell or "" for fix in diagnose([event])[0].fixes)
    assert (
        'Set-ReceiveConnector -Identity "$env:COMPUTERNAME\\Default Frontend $env:COMPUTERNAME"'
        in scripts
    )
    assert (
        "Set-OutboundConnector -Identity $oc.Identity -TlsSettings DomainValidation -TlsDomain 'hybrid.contoso.com'"
        in scripts
    )
    assert "Enable-ExchangeCertificate -Thumbprint $c.Thumbprint -Services SMTP" in scripts
    assert "Restart-Service MSExchangeFrontEndTransport" in scripts


def test_attr36_fixes_name_the_inbound_connector_and_send_connector() -> None:
    event = ev(
        "550 5.7.64 TenantAttribution; Relay Access Denied ATTR36",
        "5.7.64",
        "550",
        fqdn="mail.contoso.com",
        thumbprint=THUMB,
    )
    scripts = "\n".join(fix.powershell or "" for fix in diagnose([event])[0].fixes)
    assert (
        "Set-InboundConnector -Identity $ic.Identity -TlsSenderCertificateName 'mail.contoso.com'"
        in scripts
    )
    assert "Set-SendConnector -Identity $sc.Identity -TlsCertificateName $name" in scripts
    assert f"Get-ExchangeCertificate -Thumbprint '{THUMB}'" in scripts


def test_dbeb_fix_sets_internal_relay_for_the_recipient_domain() -> None:
    event = ev(
        "550 5.4.1 Recipient address rejected: Access denied. AS(201806281)",
        "5.4.1",
        "550",
        recipient="old.user@Contoso.com",
    )
    scripts = [fix.powershell for fix in diagnose([event])[0].fixes if fix.powershell]
    assert scripts[0] == "Set-AcceptedDomain -Identity 'contoso.com' -DomainType InternalRelay"


_statuses = st.one_of(
    st.none(),
    st.from_regex(r"[245]\.[0-9]{1,3}\.[0-9]{1,3}", fullmatch=True),
    st.text(max_size=12),
)
_field_values = st.one_of(st.text(max_size=80), st.tuples(st.text(max_size=30)), st.integers())
_events = st.builds(
    MailEvent,
    st.sampled_from(list(InputKind)),
    st.sampled_from(list(EventKind)),
    st.text(max_size=300),
    _statuses,
    st.one_of(st.none(), st.from_regex(r"[2-5][0-9]{2}", fullmatch=True)),
    st.dictionaries(
        st.sampled_from(sorted(KNOWN_FIELDS | {"self_signed"})), _field_values, max_size=8
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_events, max_size=20))
def test_engine_never_raises_and_findings_are_well_formed(events: list[MailEvent]) -> None:
    for finding in diagnose(events):
        assert finding.reason in BOUNCE_REASONS
        assert "\n" not in finding.summary
        assert finding.probe is None or " " not in finding.probe
        for fix in finding.fixes:
            if fix.powershell:
                _outside_single_quotes(fix.powershell)


def test_expired_presented_certificate_is_judged_by_the_log_time_not_the_clock() -> None:
    fresh = cert(
        sans=("hybrid.contoso.com",),
        subject="CN=hybrid.contoso.com",
        issuer=PUBLIC_ISSUER,
        not_after="12/31/2026 11:59:59 PM",
        last_seen="2026-11-22T10:15:02Z",
    )
    assert diagnose([fresh]) == ()
    stale = replace(fresh, fields={**fresh.fields, "not_after": "10/01/2026 11:59:59 PM"})
    finding = diagnose([stale])[0]
    assert finding.id == "protocol.cert.expired"
    assert "10/01/2026" in finding.summary
    script = finding.fixes[0].powershell or ""
    assert f"-Thumbprint '{THUMB}'" in script and "Set-HybridConfiguration" in script
    unparseable = replace(fresh, fields={**fresh.fields, "not_after": "sometime"})
    assert diagnose([unparseable]) == ()


def test_internal_only_sessions_do_not_raise_certificate_alarms() -> None:
    internal = cert(exchange_online="no", fqdn="server1.corp.contoso.local")
    assert diagnose([internal]) == ()
    # once a trace says Exchange Online connects to a host, the same certificate matters
    trace = led(
        "450",
        "4.7.320",
        "Certificate validation failed [Message=SubjectMismatch]",
        "hybrid.contoso.com",
    )
    assert "protocol.cert.self_signed" in {f.id for f in diagnose([internal, trace])}
    exo = cert(exchange_online="yes", fqdn="hybrid.contoso.com")
    assert diagnose([exo])[0].summary.endswith("without hybrid.contoso.com in its SAN")


def test_trace_names_win_over_the_banner_name_of_the_log() -> None:
    public = cert(
        sans=("mail.contoso.com",),
        fqdn="mail.contoso.com",
        subject=PUBLIC_SUBJECT,
        issuer=PUBLIC_ISSUER,
    )
    assert diagnose([public]) == ()
    trace = led(
        "450",
        "4.7.320",
        "Certificate validation failed [Message=SubjectMismatch]",
        "hybrid.contoso.com",
    )
    findings = diagnose([public, trace])
    mismatch = next(f for f in findings if f.id == "protocol.cert.name_mismatch")
    assert mismatch.fields["expected_name"] == "hybrid.contoso.com"


def test_pre_aggregated_counts_from_parsers_are_added_up() -> None:
    failure = ev(
        "TLS negotiation failed with error SocketError",
        source=PLOG,
        kind=EventKind.TLS_FAILURE,
        connector=FRONTEND,
        count=41,
        tls_error="SocketError",
    )
    finding = diagnose([failure, failure])[0]
    assert finding.fields["occurrences"] == 82
    assert "(SocketError)" in finding.summary
    assert diagnose([cert(count=7), cert(count=5)])[0].fields["occurrences"] == 12


def test_hybrid_capability_check_needs_exchange_online_and_a_missing_capability() -> None:
    base = cert(sans=("hybrid.contoso.com",), subject="CN=hybrid.contoso.com", issuer=PUBLIC_ISSUER)
    ok = replace(
        base,
        fields={
            **base.fields,
            "exchange_online": "yes",
            "capabilities": "mail.protection.outlook.com:AcceptCloudServicesMail",
        },
    )
    assert diagnose([ok]) == ()
    not_exo = replace(base, fields={**base.fields, "exchange_online": "no", "capabilities": "None"})
    assert diagnose([not_exo]) == ()
    missing = replace(
        base, fields={**base.fields, "exchange_online": "yes", "capabilities": "None"}
    )
    finding = diagnose([missing])[0]
    assert finding.id == "protocol.connector.hybrid_capability_missing"
    assert "-TlsDomainCapabilities 'mail.protection.outlook.com:AcceptCloudServicesMail'" in (
        finding.fixes[0].powershell or ""
    )


def test_expiry_after_a_certificate_failure_reports_the_certificate_failure() -> None:
    led_text = (
        "450 4.7.320 Certificate validation failed [Message=SubjectMismatch] "
        "[LastAttemptedServerName=hybrid.contoso.com] [LastAttemptedIP=203.0.113.5:25]"
    )
    expired = ev(
        "550 4.4.7 QUEUE.Expired; message expired",
        "4.4.7",
        "550",
        TRACE,
        fqdn="hybrid.contoso.com",
        led=led_text,
        message="SubjectMismatch",
    )
    (finding,) = diagnose([expired])
    assert finding.id == "exo.tls.subject_mismatch"
    assert finding.status == "4.7.320" and finding.reply_code == "450"
    # an LED that no specific rule knows leaves the expiry as it is
    vague = replace(
        expired, fields={**expired.fields, "led": "451 4.3.9 odd failure", "message": ""}
    )
    assert diagnose([vague])[0].id == "ndr.message_expired"
    same = replace(expired, fields={**expired.fields, "led": "550 4.4.7 QUEUE.Expired"})
    assert diagnose([same])[0].id == "ndr.message_expired"


def test_exchange_online_is_also_recognised_by_the_peer_ehlo_name() -> None:
    seen_by_exo = cert(
        exchange_online="no", remote_ehlo="EUR05-AM6-obe.outbound.protection.outlook.com"
    )
    finding = diagnose([seen_by_exo])[0]
    assert finding.id == "protocol.cert.self_signed"
    internal = cert(exchange_online="no", remote_ehlo="SERVER2.corp.contoso.local")
    assert diagnose([internal]) == ()


def test_findings_can_be_asked_twice_without_double_counting() -> None:
    engine = RuleEngine(K)
    engine.feed(cert())
    first = engine.findings()
    assert first == engine.findings()
    assert first[0].fields["occurrences"] == 1


def test_exim_tls_required_line() -> None:
    line = "== kim@fabrikam.com R=dnslookup T=remote_smtp defer (-38) H=mx.fabrikam.com [198.51.100.7]: a TLS session is required, but the server did not offer TLS support"
    event = ev(line, source=InputKind.EXIM, kind=EventKind.TLS_FAILURE, fqdn="mx.fabrikam.com")
    assert diagnose([event])[0].id == "mta.tls.not_offered"
