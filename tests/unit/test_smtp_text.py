"""Pure helpers of the SMTP probe: escaping untrusted bytes, recognising reply lines."""

from __future__ import annotations

import ssl

from bot.probe.smtp import _is_reply_line, client_tls_context, display_text


def test_display_text_escapes_invalid_utf8_and_controls() -> None:
    assert display_text(b"220 caf\xc3\xa9 ready") == "220 café ready"
    assert display_text(b"220 \xff\xfe") == "220 \\xff\\xfe"
    assert display_text(b"220 \x1b[2J\x07bell\x7f") == "220 \\x1b[2J\\x07bell\\x7f"
    assert display_text(b"220\ttab kept") == "220\ttab kept"
    assert display_text(b"220 line\rbreak\nx") == "220 line\\x0dbreak\\x0ax"


def test_reply_lines() -> None:
    assert _is_reply_line(b"220 ready")
    assert _is_reply_line(b"250-STARTTLS")
    assert _is_reply_line(b"250")
    assert not _is_reply_line(b"25")
    assert not _is_reply_line(b"2500 x")
    assert not _is_reply_line(b"abc ready")
    assert not _is_reply_line(b"220_x")
    assert not _is_reply_line(b"\x16\x03\x01")  # a TLS record where SMTP was expected


def test_client_context_does_not_verify_and_allows_old_protocols() -> None:
    context = client_tls_context()
    assert context.verify_mode is ssl.CERT_NONE
    assert context.check_hostname is False
    assert context.minimum_version in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.MINIMUM_SUPPORTED)
