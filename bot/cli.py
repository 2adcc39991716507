"""The `mailflow` command line: check | diagnose | serve.

Exit codes: 0 success (check: no error finding), 1 check found an error, 2 usage or input error.

Each command imports what it uses inside its own function (start-up time is most of a check's
run): `check` never loads the diagnosis stack, `diagnose` never loads DNS, TLS or asyncio, and
neither loads Slack or aiohttp. `mailflow --help` loads none of them.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from bot.core.paths import ConfigError, config_dir, examples_dir

if TYPE_CHECKING:
    from bot.probe.engine import CheckRequest, ProbeUpdate

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors on one line (plus a hint) and exits 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _fail(message: str) -> int:
    print(f"mailflow: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="mailflow", description="Diagnose mail-flow and SMTP TLS incidents.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    diagnose = sub.add_parser(
        "diagnose",
        help="explain a pasted NDR, message trace, queue error or protocol log",
        description="Diagnose an NDR, message-trace reason, queue error, DSN (.eml), Exchange "
        "protocol log or Postfix/Exim log (files up to 200 MB, streamed).",
    )
    diagnose.add_argument("file", nargs="?", help="file to read, or - for standard input")
    diagnose.add_argument(
        "--example",
        metavar="NAME",
        choices=_example_names(),
        help="diagnose a sample incident shipped with mailflow instead: %(choices)s",
    )
    diagnose.add_argument("--json", action="store_true", help="print the JSON contract")

    check = sub.add_parser(
        "check",
        help="probe every MX host and address over STARTTLS",
        description="Probe every MX host and every address of TARGET over STARTTLS and judge "
        "the certificates they present.",
    )
    check.add_argument("target", nargs="?", help="domain, e-mail address or host name")
    check.add_argument("--host", metavar="NAME", help="probe this host directly (no MX lookup)")
    check.add_argument(
        "--expect-name",
        metavar="NAME",
        action="append",
        default=[],
        help="a name the certificate must also cover (repeatable)",
    )
    check.add_argument(
        "--attempts", type=_positive_int, default=2, help="connections per address (default 2)"
    )
    check.add_argument("--port", type=_port, default=25, help="SMTP port (default 25)")
    check.add_argument(
        "--timeout",
        type=_positive_float,
        default=None,
        metavar="S",
        help="timeout of each step in seconds (default 10, or MAILFLOW_PROBE_TIMEOUT)",
    )
    check.add_argument(
        "--deadline",
        type=_positive_float,
        default=45.0,
        metavar="S",
        help="overall deadline in seconds (default 45)",
    )
    check.add_argument(
        "--nameserver",
        metavar="IP[:PORT]",
        action="append",
        default=[],
        help="DNS server to ask (repeatable; default MAILFLOW_NAMESERVERS or the system's)",
    )
    check.add_argument(
        "--allow-net",
        metavar="CIDR",
        action="append",
        default=[],
        help="allow probing this private network (repeatable; also MAILFLOW_ALLOW_NETS)",
    )
    check.add_argument(
        "--ca-file",
        metavar="PATH",
        type=Path,
        default=None,
        help="PEM bundle of trusted roots (default MAILFLOW_CA_FILE or Mozilla's)",
    )
    check.add_argument("--json", action="store_true", help="print the JSON contract")

    sub.add_parser(
        "serve",
        help="run the Slack bot (HTTP on $PORT, or Socket Mode when SLACK_APP_TOKEN is set)",
        description="Run the Slack bot. Settings come from the environment (see the README).",
    )

    return parser


def _example_names() -> list[str]:
    folder = examples_dir()
    return sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


def _positive_int(text: str) -> int:
    value = int(text) if text.isdigit() else 0
    if not 1 <= value <= 10:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1 to 10, got {text!r}")
    return value


def _port(text: str) -> int:
    value = int(text) if text.isdigit() else 0
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 1 to 65535, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"expected seconds between 0 and 3600, got {text!r}")
    return value


def _check_request(args: argparse.Namespace) -> tuple[CheckRequest, Path | None]:
    """Build the probe request from flags, falling back to MAILFLOW_* variables."""
    from bot.core.domain import InvalidTarget, normalise_name, normalise_target
    from bot.probe.engine import CheckRequest
    from bot.probe.netpolicy import parse_allow_nets
    from bot.probe.resolver import parse_nameservers
    from bot.settings import ProbeSettings

    if bool(args.target) == bool(args.host):
        raise InvalidTarget("give either TARGET or --host NAME")
    host_mode = bool(args.host)
    target = normalise_target(args.host or args.target, host_mode=host_mode)
    expected = tuple(normalise_name(name) for name in args.expect_name)
    env = ProbeSettings.from_env()
    nameservers = parse_nameservers(args.nameserver) if args.nameserver else env.nameservers
    allow = parse_allow_nets(args.allow_net) + env.allow_nets
    timeout = args.timeout or env.probe_timeout
    ca_file = args.ca_file or (Path(env.ca_file) if env.ca_file else None)
    request = CheckRequest(
        target=target,
        host_mode=host_mode,
        port=args.port,
        attempts=args.attempts,
        step_timeout=timeout,
        deadline=args.deadline,
        nameservers=nameservers,
        allow_nets=allow,
        expected_names=expected,
    )
    return request, ca_file


def _print_progress(update: ProbeUpdate) -> None:
    from bot.probe.engine import AttemptFinished
    from bot.render.text import printable

    if not isinstance(update, AttemptFinished):
        return
    attempt = update.attempt
    outcome = attempt.tls_version or (attempt.failure.value if attempt.failure else "done")
    line = f"  [{update.done}/{update.planned}] {attempt.host} {attempt.ip} "
    print(printable(f"{line}attempt {attempt.attempt}: {outcome}"), file=sys.stderr, flush=True)


def _diagnose(args: argparse.Namespace) -> int:
    from bot.diagnosis import diagnose_input
    from bot.inputs import InputError
    from bot.render.jsonout import diagnosis_to_json, dumps
    from bot.render.text import render_diagnosis

    if bool(args.file) == bool(args.example):
        return _fail("give either FILE (or - for standard input) or --example NAME")
    path = str(examples_dir() / args.example) if args.example else args.file
    try:
        diagnosis = diagnose_input(path)
    except InputError as exc:
        return _fail(str(exc))
    print(dumps(diagnosis_to_json(diagnosis)) if args.json else render_diagnosis(diagnosis), end="")
    if args.json:
        print()
    return EXIT_OK


def _check(args: argparse.Namespace) -> int:
    import asyncio

    from bot.check import CaFileError, check_ca_file, run_check
    from bot.render.jsonout import check_to_json, dumps
    from bot.render.text import render_check

    try:
        request, ca_file = _check_request(args)
    except (ValueError, OSError) as exc:
        return _fail(str(exc))
    origin = "--ca-file" if args.ca_file else "MAILFLOW_CA_FILE"
    try:
        if ca_file is not None:
            check_ca_file(ca_file)  # fail fast; the file is parsed while the probe runs
        progress = _print_progress if not args.json and sys.stderr.isatty() else None
        report = asyncio.run(run_check(request, ca_file=ca_file, on_progress=progress))
    except CaFileError as exc:
        return _fail(f"{origin}: {exc}")
    print(
        dumps(check_to_json(report)) if args.json else render_check(report),
        end="\n" if args.json else "",
    )
    return EXIT_FINDINGS if report.has_errors else EXIT_OK


def _serve() -> int:
    from bot.slack.serve import serve_from_env

    return serve_from_env()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "diagnose":
            return _diagnose(args)
        if args.command == "serve":
            return _serve()
        return _check(args)
    except ConfigError as exc:
        return _fail(f"cannot load {config_dir()}: {exc}")
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK


def entry() -> NoReturn:
    """The `mailflow` program: main(), flush, and exit at once. Tearing down modules and
    collecting a check's objects would only free what the OS frees anyway (tens of ms)."""
    code = main()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BrokenPipeError, ValueError):  # reader gone, or closed
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    entry()
