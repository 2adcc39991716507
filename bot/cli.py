"""The `mailflow` command line: check | diagnose | collect | serve.

Exit codes: 0 success (check: no error finding), 1 check found an error, 2 usage or input error.

Each command imports what it uses inside its own function (start-up time is most of a check's
run): `check` never loads the diagnosis stack, `diagnose` never loads DNS, TLS or asyncio, and
neither loads Slack or aiohttp. `mailflow --help` loads none of them.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import os
import sys
from collections.abc import Generator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from bot import cli_help, startup
from bot.core.paths import ConfigError, config_dir, examples_dir

if TYPE_CHECKING:
    from bot.check import CheckReport
    from bot.core.models import Diagnosis
    from bot.inputs import InputError
    from bot.probe.engine import CheckRequest
    from bot.render.terminal import CheckProgress, Styling

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors on one line (plus a hint) and exits 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _fail(message: str) -> int:
    print(f"mailflow: error: {message}", file=sys.stderr)
    return EXIT_USAGE


class _Version(argparse.Action):
    """--version: the installed distribution's version, looked up only when asked for."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="show the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> NoReturn:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("mailflow-bot")
        except PackageNotFoundError:  # run from a checkout that was never installed
            number = "unknown (not installed)"
        print(f"mailflow {number}")
        parser.exit(EXIT_OK)


_COLOR_CHOICES = ("auto", "always", "never")  # bot.render.terminal.styling() reads them


def _output_options() -> _Parser:
    """--output and --color, shared by the commands that print a report."""
    common = _Parser(add_help=False)
    common.add_argument(
        "--output", metavar="FILE", type=Path, help="write the report to FILE, not stdout"
    )
    common.add_argument(
        "--color",
        choices=_COLOR_CHOICES,
        default="auto",
        help="colour the report: auto (on a terminal, the default), always or never",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="mailflow",
        description="Diagnose mail-flow and SMTP TLS incidents.",
        epilog=cli_help.MAIN,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    output = _output_options()

    diagnose = sub.add_parser(
        "diagnose",
        help="explain a pasted NDR, message trace, queue error or protocol log",
        description="Diagnose bounces (.eml, mbox), NDRs, message traces and exports, queue "
        "errors, tracking and protocol logs, Postfix/Exim logs, Amazon SES notifications and "
        "Exchange events (files up to 200 MB each, streamed). Several paths, directories (read "
        "recursively) or an mbox file are diagnosed one message at a time: --json then prints "
        "JSON Lines, one object per message with input.path.",
        epilog=cli_help.DIAGNOSE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[output],
    )
    diagnose.add_argument(
        "files", nargs="*", metavar="PATH", help="files, directories or mbox files; - for stdin"
    )
    diagnose.add_argument(
        "--example",
        metavar="NAME",
        choices=_example_names(),
        help="diagnose a sample incident shipped with mailflow instead: %(choices)s",
    )
    diagnose.add_argument("--json", action="store_true", help="print the JSON contract")
    diagnose.add_argument(
        "--jobs",
        "-j",
        type=_positive_int,
        default=None,
        metavar="N",
        help=(
            "worker processes (default: one per CPU, at most 16): a batch spreads its inputs"
            " over them; one big protocol log uses a second process to find its lines"
        ),
    )
    diagnose.add_argument(
        "--together",
        action="store_true",
        help="treat all inputs as one case (configuration dumps, traces, probes): one result",
    )

    collect = sub.add_parser(
        "collect",
        help="print the read-only PowerShell script that gathers the configuration to upload",
        description="Print a read-only PowerShell script that writes the Exchange (onprem) or "
        "Exchange Online (exo) configuration the cross-check reads into one JSON file.",
        epilog=cli_help.COLLECT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    collect.add_argument("side", choices=("onprem", "exo"), help="which side to collect")

    check = sub.add_parser(
        "check",
        help="probe every MX host and address over STARTTLS",
        description="Probe every MX host and every address of TARGET over STARTTLS and judge "
        "the certificates they present.",
        epilog=cli_help.CHECK,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[output],
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
    check.add_argument(
        "--no-policies", action="store_true", help="skip the DANE, MTA-STS and TLS-RPT checks"
    )
    check.add_argument(
        "--dnssec-resolver",
        metavar="IP[:PORT]",
        default=None,
        help="a validating resolver whose AD bit is trusted for DNSSEC (default "
        "MAILFLOW_DNSSEC_RESOLVER; otherwise mailflow validates from the root trust anchor)",
    )
    check.add_argument(
        "--trust-anchor",
        metavar="PATH",
        type=Path,
        default=None,
        help="DS/DNSKEY records to validate DNSSEC from instead of the root's (default "
        "MAILFLOW_TRUST_ANCHOR)",
    )
    check.add_argument("--json", action="store_true", help="print the JSON contract")

    serve = sub.add_parser(
        "serve",
        help="run the Slack bot (HTTP on $PORT, or Socket Mode when SLACK_APP_TOKEN is set)",
        description="Run the Slack bot, or without Slack credentials the local playground. "
        "Settings come from the environment (see the README).",
        epilog=cli_help.serve(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument(
        "--playground",
        action="store_true",
        help="serve the local playground (a fake Slack on 127.0.0.1:$PORT) even with Slack "
        "credentials set; without them it is the default",
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
    from bot.probe.resolver import parse_nameserver, parse_nameservers
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
    dnssec = parse_nameserver(args.dnssec_resolver) if args.dnssec_resolver else env.dnssec_resolver
    anchor = args.trust_anchor or (Path(env.trust_anchor) if env.trust_anchor else None)
    if anchor is not None and not args.no_policies:
        from bot.probe.dnssec import load_trust_anchors

        load_trust_anchors(anchor)  # a broken file is one line now, not a silent gap later
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
        policies=not args.no_policies,
        dnssec_resolver=dnssec,
        trust_anchor=anchor,
        ca_file=ca_file,
    )
    return request, ca_file


def _open_output(args: argparse.Namespace) -> TextIO:
    """Where the report goes: --output FILE (opened before any work, so that an unwritable path
    fails at once) or standard output."""
    if args.output is None:
        return sys.stdout
    output: Path = args.output
    return output.open("w", encoding="utf-8")


def _emit(
    args: argparse.Namespace,
    out: TextIO,
    text: str,
    severities: dict[str, str],
) -> None:
    if _plain(args, out):
        out.write(text)  # the plain path imports no terminal code
    else:
        from bot.render import terminal

        terminal.write(text, out, terminal.styling(args.color, out), severities)
    _close(out)


def _plain(args: argparse.Namespace, out: TextIO) -> bool:
    """No styling: JSON, --color never, or auto on something that is not a terminal."""
    if args.json or args.color == "never":
        return True
    return args.color == "auto" and not (os.environ.get("FORCE_COLOR") or _tty(out))


def _close(out: TextIO) -> None:
    if out is not sys.stdout:
        out.close()
    else:
        out.flush()


def _tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no such method, or closed
        return False


def _progress(args: argparse.Namespace, target: str) -> CheckProgress | None:
    """The live view on stderr, only when stderr is a terminal (never in a pipe or a log)."""
    if not _tty(sys.stderr):
        return None
    from bot.render import terminal

    mode = terminal.styling(args.color, sys.stderr)
    return terminal.CheckProgress.open(target, sys.stderr, mode)


def _diagnose(args: argparse.Namespace) -> int:
    from bot.inputs import input_items

    if bool(args.files) == bool(args.example):
        return _fail("give either PATH (or - for standard input) or --example NAME")
    paths = [str(examples_dir() / args.example)] if args.example else args.files
    try:
        out = _open_output(args)
    except OSError as exc:
        return _fail(f"--output {args.output}: {exc.strerror or exc}")
    if args.together:
        return _diagnose_together(args, out, paths)
    ahead = list(itertools.islice(input_items(paths), 2))
    single = len(ahead) == 1 and len(paths) == 1 and not Path(paths[0]).is_dir()
    read = failed = 0
    with contextlib.closing(_diagnoses(args, paths, out, single=single)) as results:
        for ok, text in results:  # closed on any exit: the workers are stopped and reaped
            if ok:
                read += 1
                out.write(text)
            else:
                failed += 1
                sys.stderr.write(text)
    _close(out)
    return EXIT_USAGE if read == 0 and failed else EXIT_OK


def _diagnoses(
    args: argparse.Namespace, paths: list[str], out: TextIO, *, single: bool
) -> Generator[tuple[bool, str], None, None]:
    """Each input's printed diagnosis (False: an error line for stderr), in input order; a batch
    is spread over --jobs worker processes."""
    from bot.core.diagnose.pipeline import load_knowledge
    from bot.diagnosis import diagnose_item
    from bot.inputs import InputItem, input_items
    from bot.workers import default_jobs, ordered_map

    color = None
    if not _plain(args, out):
        from bot.render import terminal

        color = terminal.styling(args.color, out)
    knowledge = load_knowledge()  # before the workers fork: they share it
    jobs = args.jobs or default_jobs()
    batch = not single and "-" not in paths

    def one(item: InputItem | InputError) -> tuple[bool, str]:
        # a single input may use the processes itself (a big log: bot.scan_ahead)
        path, result = diagnose_item(item, knowledge, 1 if batch else jobs)
        return _diagnosis_text(args, path, result, color, single=single)

    def key(item: InputItem | InputError) -> str:
        return item.path if isinstance(item, InputItem) else str(item)

    return ordered_map(lambda: input_items(paths), one, jobs if batch else 1, key)


def _diagnosis_text(
    args: argparse.Namespace,
    path: str,
    result: Diagnosis | InputError,
    color: Styling | None,
    *,
    single: bool,
) -> tuple[bool, str]:
    """What one input prints: (True, its report) or (False, the error line for stderr)."""
    from bot.inputs import InputError
    from bot.render.jsonout import diagnosis_to_json, dumps, dumps_line
    from bot.render.text import printable, render_diagnosis

    if isinstance(result, InputError):
        return False, f"mailflow: error: {result}\n"
    if args.json:
        document = diagnosis_to_json(result)
        if single:
            return True, dumps(document) + "\n"
        document["input"]["path"] = path
        return True, dumps_line(document) + "\n"
    heading = "" if single else f"== {printable(path)}\n"
    text = heading + render_diagnosis(result)
    if color is None:
        return True, text
    from bot.render import terminal

    styled = io.StringIO()
    terminal.write(text, styled, color, {f.id: f.severity.value for f in result.findings})
    return True, styled.getvalue()


def _diagnose_together(args: argparse.Namespace, out: TextIO, paths: list[str]) -> int:
    from bot.diagnosis import diagnose_together
    from bot.render.jsonout import diagnosis_to_json, dumps
    from bot.render.text import printable, render_diagnosis

    diagnosis, used, errors = diagnose_together(paths)
    for error in errors:
        print(f"mailflow: error: {error}", file=sys.stderr)
    if not used:
        _close(out)
        return EXIT_USAGE
    if args.json:
        document = diagnosis_to_json(diagnosis)
        document["input"]["paths"] = used
        text = dumps(document) + "\n"
    else:
        text = f"== together: {', '.join(printable(p) for p in used)}\n" + render_diagnosis(
            diagnosis
        )
    _emit(args, out, text, {f.id: f.severity.value for f in diagnosis.findings})
    return EXIT_OK


def _collect(side: str) -> int:
    from bot.collect import script

    sys.stdout.write(script(side))
    return EXIT_OK


def _check(args: argparse.Namespace) -> int:
    import asyncio

    from bot.check import CaFileError, check_ca_file, run_check

    try:
        request, ca_file = _check_request(args)
    except (ValueError, OSError) as exc:
        return _fail(str(exc))
    origin = "--ca-file" if args.ca_file else "MAILFLOW_CA_FILE"
    try:
        if ca_file is not None:
            check_ca_file(ca_file)  # fail fast; the file is parsed while the probe runs
    except CaFileError as exc:
        return _fail(f"{origin}: {exc}")
    try:
        out = _open_output(args)
    except OSError as exc:
        return _fail(f"--output {args.output}: {exc.strerror or exc}")
    progress = _progress(args, request.target.name)
    try:
        report = asyncio.run(run_check(request, ca_file=ca_file, on_progress=progress))
    except CaFileError as exc:
        _close(out)
        return _fail(f"{origin}: {exc}")
    finally:
        if progress is not None:
            progress.close()
    text = _check_output(report, as_json=args.json)
    _emit(args, out, text, {f.id: f.severity.value for f in report.findings})
    return EXIT_FINDINGS if report.has_errors else EXIT_OK


def _check_output(report: CheckReport, *, as_json: bool) -> str:
    """The report as JSON or as text; each path loads only its own renderer."""
    if as_json:
        from bot.render.jsonout import check_to_json, dumps

        return dumps(check_to_json(report)) + "\n"
    from bot.render.text import render_check

    return render_check(report)


def _serve(args: argparse.Namespace) -> int:
    from bot.slack.serve import serve_from_env

    return serve_from_env(playground=args.playground)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "diagnose":
            return _diagnose(args)
        if args.command == "serve":
            return _serve(args)
        if args.command == "collect":
            return _collect(args.side)
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
    startup.save()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BrokenPipeError, ValueError):  # reader gone, or closed
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    entry()
