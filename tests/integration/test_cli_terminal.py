"""The CLI's manners as a person meets them: a real pseudo-terminal for stdout or stderr (or a
pipe, or a file), real loopback DNS and SMTP servers. Colour follows --color, NO_COLOR and
FORCE_COLOR; the progress of a check shows each attempt as it starts and a live spinner while a
slow server keeps it waiting, on a terminal's stderr only; --output, --version, --help; facts
appear once per host."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pty
import re
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakes.dns_server import FakeDnsServer, Zone
from tests.fakes.smtp_servers import (
    AiosmtpdServer,
    RawServer,
    ScriptedSmtp,
    free_common_port,
    server_context,
)
from tests.integration.conftest import Pki

REPO = Path(__file__).resolve().parents[2]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
SGR = re.compile(r"\x1b\[[0-9;]*m")
RED_ERROR = re.compile(r"\x1b\[[0-9;]*31[0-9;]*mERROR")


@dataclass
class Run:
    code: int
    out: str
    err: str
    err_times: list[tuple[float, str]]  # (seconds since start, chunk) as stderr arrived


def _env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MAILFLOW_", "NO_COLOR", "FORCE_COLOR", "COLUMNS"))
    }
    return env | {"TERM": "xterm-256color", **extra}


async def _read_pty(fd: int, sink: list[tuple[float, str]], started: float) -> None:
    loop = asyncio.get_running_loop()
    while True:
        try:
            data = await loop.run_in_executor(None, os.read, fd, 65536)
        except OSError:  # EIO: the child closed its side
            return
        if not data:
            return
        sink.append((time.monotonic() - started, data.decode(errors="replace")))


async def mailflow(
    *args: str, tty_out: bool = False, tty_err: bool = False, env: dict[str, str] | None = None
) -> Run:
    """`python -m bot ARGS` with stdout and/or stderr on a pseudo-terminal (else pipes)."""
    started = time.monotonic()
    fds: dict[str, tuple[int, int]] = {}
    for name, wanted in (("out", tty_out), ("err", tty_err)):
        if wanted:
            fds[name] = pty.openpty()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, cwd=REPO, env=_env(**(env or {})),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=fds["out"][1] if "out" in fds else asyncio.subprocess.PIPE,
        stderr=fds["err"][1] if "err" in fds else asyncio.subprocess.PIPE,
    )  # fmt: skip
    chunks: dict[str, list[tuple[float, str]]] = {"out": [], "err": []}
    readers = []
    for name, (master, child) in fds.items():
        os.close(child)
        readers.append(asyncio.create_task(_read_pty(master, chunks[name], started)))
    piped = await asyncio.wait_for(process.communicate(), 90)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*readers), 10)
    for master, _ in fds.values():
        os.close(master)
    out = "".join(c for _, c in chunks["out"]) if tty_out else piped[0].decode()
    err = "".join(c for _, c in chunks["err"]) if tty_err else piped[1].decode()
    assert process.returncode is not None
    return Run(process.returncode, out.replace("\r\n", "\n"), err, chunks["err"])


@dataclass(frozen=True)
class Servers:
    args: tuple[str, ...]  # --nameserver ... --port ... --ca-file ...


@contextlib.asynccontextmanager
async def appliance_mx(pki: Pki, tmp_path: Path) -> AsyncIterator[Servers]:
    """One MX host, two addresses, both behind the same gateway certificate (Barracuda)."""
    ca_file = tmp_path / "root.pem"
    ca_file.write_bytes(pki.root.pem)
    own = pki.factory.self_signed(
        "barracuda", ["barracuda.local"], org="Barracuda Networks", index=58
    )
    port = free_common_port(["127.0.0.52", "127.0.0.53"])
    zone: Zone = {
        "gateway.test": {"MX": ["10 mx.gateway.test"]},
        "mx.gateway.test": {"A": ["127.0.0.52", "127.0.0.53"]},
    }
    context = server_context(own, tmp_path, "cuda")
    async with (
        FakeDnsServer(zone) as dns,
        AiosmtpdServer(context, "127.0.0.52", port=port),
        AiosmtpdServer(context, "127.0.0.53", port=port),
    ):
        yield Servers(
            ("--nameserver", dns.address, "--allow-net", "127.0.0.0/8", "--port", str(port),
             "--ca-file", str(ca_file))
        )  # fmt: skip


# -- colour ------------------------------------------------------------------------------------
EXAMPLE = ("diagnose", "--example", "smtpreceive-server1-self-signed.log")


async def test_a_terminal_gets_colour_and_a_pipe_gets_plain_text() -> None:
    coloured = await mailflow(*EXAMPLE, tty_out=True)
    piped = await mailflow(*EXAMPLE)
    assert coloured.code == piped.code == 0
    assert RED_ERROR.search(coloured.out), coloured.out[:300]
    assert "\x1b[" not in piped.out
    # Colour is an overlay: without its escape sequences the text is the plain text.
    assert SGR.sub("", coloured.out) == piped.out


@pytest.mark.parametrize(
    ("flag", "env", "tty", "expect"),
    [
        ("never", {}, True, "plain"),
        ("always", {}, False, "colour"),
        ("auto", {"NO_COLOR": "1"}, True, "emphasis"),
        ("auto", {"FORCE_COLOR": "1"}, False, "colour"),
        ("auto", {"NO_COLOR": "1", "FORCE_COLOR": "1"}, False, "emphasis"),
        ("always", {"NO_COLOR": "1"}, False, "colour"),
        ("never", {"FORCE_COLOR": "1"}, True, "plain"),
        ("auto", {"NO_COLOR": ""}, True, "colour"),  # set but empty: not in effect
    ],
)
async def test_color_follows_the_flag_then_no_color_then_force_color(
    flag: str, env: dict[str, str], tty: bool, expect: str
) -> None:
    run = await mailflow(*EXAMPLE, "--color", flag, tty_out=tty, env=env)
    assert run.code == 0
    has_colour = bool(RED_ERROR.search(run.out))
    has_bold = "\x1b[1m" in run.out
    assert (has_colour, has_bold or has_colour) == {
        "plain": (False, False),
        "emphasis": (False, True),
        "colour": (True, True),
    }[expect], run.out[:200]


async def test_json_is_never_coloured() -> None:
    run = await mailflow(*EXAMPLE, "--json", "--color", "always", tty_out=True)
    assert run.code == 0 and "\x1b[" not in run.out and run.out.lstrip().startswith("{")


async def test_a_bad_color_value_is_a_usage_error() -> None:
    run = await mailflow(*EXAMPLE, "--color", "sometimes")
    assert run.code == 2 and "--color" in run.err and len(run.err.strip().splitlines()) == 1


# -- --output, --version, --help ---------------------------------------------------------------
async def test_output_writes_the_report_to_a_file_without_colour(tmp_path: Path) -> None:
    target = tmp_path / "report.txt"
    run = await mailflow(*EXAMPLE, "--output", str(target), tty_out=True)
    plain = await mailflow(*EXAMPLE)
    assert run.code == 0 and run.out == ""
    assert target.read_text(encoding="utf-8") == plain.out
    as_json = tmp_path / "report.json"
    assert (await mailflow(*EXAMPLE, "--json", "--output", str(as_json))).code == 0
    assert as_json.read_text(encoding="utf-8").startswith("{")


async def test_an_unwritable_output_is_one_line_before_any_work(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "dir" / "out.txt"
    started = time.monotonic()
    run = await mailflow("check", "--host", "mx.unreachable.test", "--nameserver",
                         "127.0.0.1:9", "--output", str(missing))  # fmt: skip
    assert run.code == 2
    assert run.err.strip().splitlines() == [
        f"mailflow: error: --output {missing}: No such file or directory"
    ]
    assert time.monotonic() - started < 10  # no DNS query was waited for


async def test_version() -> None:
    run = await mailflow("--version")
    assert run.code == 0
    assert re.fullmatch(r"mailflow \d+\.\d+\.\d+\S*\n", run.out), run.out


@pytest.mark.parametrize("command", [(), ("check",), ("diagnose",)])
async def test_help_has_examples_and_exit_codes(command: tuple[str, ...]) -> None:
    run = await mailflow(*command, "--help")
    assert run.code == 0
    assert "examples:" in run.out and "exit codes:" in run.out
    assert re.search(r"^ +1 +check: at least one error finding", run.out, re.M)
    if command:
        assert "--output FILE" in run.out and "--color {auto,always,never}" in run.out


async def test_serve_help_names_the_shipped_manifest() -> None:
    run = await mailflow("serve", "--help")
    assert run.code == 0
    manifest = re.search(r"manifest to create the app from: (\S+)", run.out)
    assert manifest and Path(manifest.group(1)).is_file()


# -- progress ----------------------------------------------------------------------------------
async def test_progress_shows_each_attempt_as_it_starts_and_a_live_spinner(
    pki: Pki, tmp_path: Path
) -> None:
    """A server that answers every step after 1 s: the line for each address must appear when
    its attempt starts, and the spinner must keep moving (with the elapsed time) meanwhile."""
    port = free_common_port(["127.0.0.54", "127.0.0.55"])
    zone: Zone = {"mx.slow.test": {"A": ["127.0.0.54", "127.0.0.55"]}}
    slow = ScriptedSmtp(tls=server_context(pki.leaf, tmp_path, "slow"), latency=1.0)
    ca_file = tmp_path / "root.pem"
    ca_file.write_bytes(pki.root.pem)
    async with (
        FakeDnsServer(zone) as dns,
        RawServer(slow, "127.0.0.54", port),
        RawServer(slow, "127.0.0.55", port),
    ):
        run = await mailflow(
            "check", "--host", "mx.slow.test", "--attempts", "1", "--nameserver", dns.address,
            "--allow-net", "127.0.0.0/8", "--port", str(port), "--ca-file", str(ca_file),
            tty_err=True,
        )  # fmt: skip
    assert run.code == 1, run.out + run.err  # the leaf does not cover mx.slow.test
    assert "\x1b[" not in run.out  # stdout is a pipe here: the report stays plain

    def first(pattern: str) -> float:
        return next(t for t, chunk in run.err_times if re.search(pattern, ANSI.sub("", chunk)))

    for ip in ("127.0.0.54", "127.0.0.55"):
        started, ended = first(rf"{ip} attempt 1: connecting"), first(rf"\] mx.slow.test {ip}")
        assert ended - started > 2.0, (ip, started, ended)  # seen long before it ended
    frames = {
        frame
        for _, chunk in run.err_times
        for frame in re.findall(r"([⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]) \d+\.\d s · ", ANSI.sub("", chunk))
    }
    assert len(frames) >= 3  # the spinner turned
    seconds = {
        float(s) for s in re.findall(r"(\d+\.\d) s · \d+/2 done · waiting", ANSI.sub("", run.err))
    }  # fmt: skip
    assert len(seconds) >= 3 and max(seconds) >= 2.0  # the elapsed time kept counting


async def test_no_progress_when_stderr_is_not_a_terminal(pki: Pki, tmp_path: Path) -> None:
    async with appliance_mx(pki, tmp_path) as servers:
        run = await mailflow("check", "gateway.test", *servers.args)
    assert run.code == 1
    assert run.err == ""


# -- facts once per host -----------------------------------------------------------------------
async def test_facts_are_shown_once_per_host_not_under_every_finding(
    pki: Pki, tmp_path: Path
) -> None:
    async with appliance_mx(pki, tmp_path) as servers:
        run = await mailflow("check", "gateway.test", *servers.args)
    assert run.code == 1
    text = run.out
    thumbprint = re.search(r"Thumbprint: ([0-9A-F]{40})", text)
    assert thumbprint, text
    assert text.count(f"Thumbprint: {thumbprint.group(1)}") == 1
    assert text.count("Facts (every address):") == 1
    head, findings = text.split("\nERROR ", 1)
    assert "Facts (every address):" in head  # with the host, above the findings
    assert "TlsCertificateName:" not in findings
    # A fact only one finding has stays with it.
    appliance = findings[findings.index("cert.appliance") :]
    assert "Vendor: Barracuda" in appliance
