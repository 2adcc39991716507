"""The policy flags' bad input: one line on stderr and exit 2, before any probe."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.test_cli_check import mailflow


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["--dnssec-resolver", "not-an-ip"], {}, "invalid nameserver"),
        ([], {"MAILFLOW_DNSSEC_RESOLVER": "10.0.0.1:99999"}, "MAILFLOW_DNSSEC_RESOLVER"),
        (["--trust-anchor", "{tmp}/missing.key"], {}, "cannot read"),
        (["--trust-anchor", "{tmp}/bad.key"], {}, "line 1"),
        (["--trust-anchor", "{tmp}/empty.key"], {}, "no DS or DNSKEY record"),
    ],
    ids=["resolver flag", "resolver variable", "missing anchor", "bad anchor", "empty anchor"],
)
async def test_bad_policy_options_are_one_line(
    tmp_path: Path, args: list[str], env: dict[str, str], expected: str
) -> None:
    (tmp_path / "bad.key").write_text("dane.test. IN DS 1 2 3 not-hex\n")
    (tmp_path / "empty.key").write_text("; only a comment\n")
    filled = [a.replace("{tmp}", str(tmp_path)) for a in args]
    code, out, err = await mailflow(
        "check", "contoso.test", "--nameserver", "127.0.0.1:9", *filled, env=env
    )
    assert code == 2, out + err
    assert expected in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
