"""Diagnosis benchmarks: a 200 MB protocol log, short lines at two sizes, and the bounce corpus.

Run from the repository root:  python -m benchmarks.bench_diagnose [--mb 200] [--repeat 2]

1. Writes a deterministic, realistic Exchange SmtpReceive protocol log of `--mb` megabytes to a
   temporary file (CRLF, a `#Fields` header per log file, a mix of sessions: Exchange Online with
   a good certificate and TLS domain capabilities, Exchange Online against a server that presents
   its self-signed certificate, internal relays without TLS, client submissions, rejections).
2. Baseline: the standard `csv` module merely iterating the same file (MB/s).
3. Ours: the full pipeline (`bot.diagnosis.diagnose_input`: read, decode, readers, reasons,
   causes, playbooks) (MB/s), with one process per CPU allowed as `mailflow diagnose FILE` runs
   (the parser and its scan-ahead helper, bot.scan_ahead). Each runs in its own fresh
   subprocess, which reports its peak RSS (getrusage RUSAGE_SELF, and RUSAGE_CHILDREN for the
   helper); the best of `--repeat` runs counts, in alternating order.
4. A 1 MB adversarial paste (noise, brackets, `4.4.4.4.4`, Slack markup, log fragments) diagnosed
   in-process.
5. Short lines: 1 MB and 10 MB of short chat-like lines diagnosed in-process; lines per second
   at both sizes and the ratio of the time per line (1.0 = linear).
6. Batch: the Sisimai corpus (../shared/corpus/sisimai/samples) diagnosed by one
   `mailflow diagnose DIR --json` command (its worker processes, one per CPU, as users run it;
   `--jobs 1` is timed too, for the single-process rate), side by side with Perl Sisimai's
   `Sisimai->make` over the same directory (Debian's libsisimai-perl), alternating, messages
   per second.

Targets: throughput at least the baseline's, peak RSS under 150 MB, the 1 MB paste in under
0.5 s, short lines linear and at least 2 M lines/s, batch at least 2x Sisimai's rate. A
measurement, not a test: always exits 0.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bot.diagnosis import diagnose_bytes, diagnose_input, diagnose_text
from bot.workers import default_jobs

MB = 1024 * 1024
RSS_LIMIT_MB = 150.0
PASTE_LIMIT_S = 0.5
_FIELDS = (
    "date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,event,"
    "data,context"
)
_SELF_SIGNED = (
    '" CN=SERVER1 CN=SERVER1 5A3F6E1D2C9B8A7F4E3D2C1B0A998877'
    " 3B7D9E2A4C6F8B1D3E5A7C9F0B2D4E6A8C1F3B5D"
    ' 2022-03-14T09:12:44.000Z 2027-03-14T09:12:44.000Z SERVER1;SERVER1.corp.contoso.com"'
)
_GOOD = (
    '" CN=hybrid.contoso.com, O=Contoso Ltd, L=Redmond, S=WA, C=US CN=DigiCert Global G2 TLS RSA'
    " SHA256 2020 CA1, O=DigiCert Inc, C=US 0C4F2A9B7E1D3C5A6B8F9E0D1C2B3A49"
    " 8E2F4A6C8B0D1E3F5A7C9B1D3E5F7A9C0B2D4E6F 2026-10-02T00:00:00.000Z 2027-10-02T23:59:59.000Z"
    ' hybrid.contoso.com;mail.contoso.com;autodiscover.contoso.com"'
)
_EXO_CERT = (
    '" CN=mail.protection.outlook.com, O=Microsoft Corporation, L=Redmond, S=Washington, C=US'
    " CN=DigiCert Cloud Services CA-1, O=DigiCert Inc, C=US 0F1E2D3C4B5A69788796A5B4C3D2E1F0"
    " C1D2E3F4A5B6C7D8E9F0A1B2C3D4E5F6A7B8C9D0 2026-07-10T00:00:00.000Z 2027-07-09T23:59:59.000Z"
    ' mail.protection.outlook.com;*.mail.protection.outlook.com;*.mail.eo.outlook.com"'
)
_CERT_CONTEXT = (
    "certificate Subject Issuer name Serial number Thumbprint Not before Not after Subject "
    "alternate names"
)
_TLS_OK = (
    '"TLS protocol SP_PROT_TLS1_2_SERVER negotiation succeeded using bulk encryption algorithm '
    "CALG_AES_256 with strength 256 bits, MAC hash algorithm CALG_SHA_384 with strength 0 bits "
    'and key exchange algorithm CALG_ECDH_EPHEM with strength 384 bits"'
)
_EXTENSIONS = (
    "SIZE 37748736 PIPELINING DSN ENHANCEDSTATUSCODES STARTTLS X-ANONYMOUSTLS AUTH NTLM X-EXPS "
    "GSSAPI NTLM 8BITMIME BINARYMIME CHUNKING XRDST"
)
_PEOPLE = [
    "adele.vance",
    "megan.bowen",
    "lee.gu",
    "alex.wilber",
    "diego.siciliani",
    "isaiah.langer",
    "johanna.lorenz",
    "lidia.holloway",
    "nestor.wilke",
    "pradeep.gupta",
]


class _Recorder:
    """The records of one session."""

    def __init__(self, writer: _LogWriter, who: str, endpoints: str) -> None:
        self.writer, self.who, self.endpoints = writer, who, endpoints
        self.lines: list[str] = []

    def __call__(self, event: str, data: str, context: str = "") -> None:
        self.lines.append(
            f"{self.writer.stamp()},{self.who},{len(self.lines)},{self.endpoints},"
            f"{event},{data},{context}"
        )


class _LogWriter:
    """Deterministic SmtpReceive sessions, appended as CRLF lines."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.clock = 0.0  # seconds since 2026-11-20T00:00:00Z
        self.session = 0x08DE0A1B00000000

    def stamp(self) -> str:
        self.clock += self.rng.random() * 0.05
        total = int(self.clock)
        millis = int((self.clock - total) * 1000)
        day, rest = divmod(total, 86400)
        hour, rest = divmod(rest, 3600)
        minute, second = divmod(rest, 60)
        return f"2026-11-{20 + day % 9:02d}T{hour:02d}:{minute:02d}:{second:02d}.{millis:03d}Z"

    def session_lines(self) -> list[str]:
        pick = self.rng.random()
        if pick < 0.45:
            return self._exchange_online("SERVER2", "hybrid.contoso.com", _GOOD, ok=True)
        if pick < 0.55:
            return self._exchange_online("SERVER1", "SERVER1.corp.contoso.com", _SELF_SIGNED, False)
        if pick < 0.85:
            return self._internal_relay()
        if pick < 0.95:
            return self._client_submission()
        return self._rejected()

    def _start(self, connector: str, local: str, remote: str) -> _Recorder:
        self.session += 1
        return _Recorder(self, f"{connector},{self.session:016X}", f"{local},{remote}")

    def _banner(self, record: _Recorder, host: str) -> None:
        record(
            ">",
            f'"220 {host} Microsoft ESMTP MAIL Service ready at Fri, 20 Nov 2026 '
            f'{self.rng.randint(0, 23):02d}:00:00 +0000"',
        )

    def _message(self, record: _Recorder, host: str, recipients: int) -> None:
        sender = self.rng.choice(_PEOPLE)
        size = self.rng.randint(2_000, 900_000)
        record("<", f"MAIL FROM:<{sender}@contoso.onmicrosoft.com> SIZE={size} BODY=BINARYMIME")
        record("*", f"{self.session:016X};2026-11-20T00:00:00.000Z;1", "receiving message")
        for _ in range(recipients):
            record("<", f"RCPT TO:<{self.rng.choice(_PEOPLE)}@contoso.com>")
        record(">", "250 2.1.0 Sender OK")
        for _ in range(recipients):
            record(">", "250 2.1.5 Recipient OK")
        record("<", f"BDAT {size} LAST")
        record(
            ">",
            f"250 2.6.0 <{self.rng.getrandbits(64):016X}@PH0PR11MB4839.namprd11.prod."
            f"outlook.com> [InternalId={self.rng.getrandbits(36)}, Hostname={host}] "
            f"{size + 1400} bytes in 0.{self.rng.randint(10, 99)}, 517.819 KB/sec Queued "
            "mail for delivery",
        )

    def _exchange_online(self, server: str, host: str, cert: str, ok: bool) -> list[str]:
        remote_ip = f"40.107.{self.rng.randint(0, 255)}.{self.rng.randint(1, 254)}"
        site = self.rng.choice(["BN8", "DM6", "MW2", "CO1"])
        ehlo = f"NAM12-{site}-obe.outbound.protection.outlook.com"
        record = self._start(
            f"{server}\\Default Frontend {server}",
            "10.20.0.12:25",
            f"{remote_ip}:{self.rng.randint(1024, 65535)}",
        )
        record("+", "", "")
        self._banner(record, host)
        record("<", f"EHLO {ehlo}")
        record(">", f"250  {host} Hello [{remote_ip}] {_EXTENSIONS}")
        record("<", "STARTTLS")
        record(">", "220 2.0.0 SMTP server ready")
        record("*", cert, f"Sending {_CERT_CONTEXT}")
        record("*", "", _TLS_OK)
        if not ok:
            record("-", "", "Remote(ConnectionReset)")
            return record.lines
        record("*", _EXO_CERT, f"Remote {_CERT_CONTEXT}")
        record("<", f"EHLO {ehlo}")
        record("*", "", "Client certificate chain validation status: 'Valid'")
        record(
            "*",
            "",
            "TlsDomainCapabilities='AcceptCloudServicesMail'; Status='Success'; "
            "Domain='mail.protection.outlook.com'",
        )
        record(
            ">",
            f"250  {host} Hello [{remote_ip}] SIZE 37748736 PIPELINING DSN "
            "ENHANCEDSTATUSCODES AUTH NTLM 8BITMIME BINARYMIME CHUNKING XRDST",
        )
        for _ in range(1 + (self.rng.random() < 0.3)):
            self._message(record, host, self.rng.randint(1, 4))
        record("<", "QUIT")
        record(">", "221 2.0.0 Closing connection.")
        record("-", "", "Local")
        return record.lines

    def _internal_relay(self) -> list[str]:
        remote_ip = f"10.20.{self.rng.randint(1, 9)}.{self.rng.randint(1, 254)}"
        record = self._start(
            "SERVER2\\Default Frontend SERVER2",
            "10.20.0.12:25",
            f"{remote_ip}:{self.rng.randint(1024, 65535)}",
        )
        record("+", "", "")
        self._banner(record, "hybrid.contoso.com")
        record("<", f"EHLO app{self.rng.randint(1, 40):02d}.corp.contoso.com")
        record(">", f"250  hybrid.contoso.com Hello [{remote_ip}] {_EXTENSIONS}")
        self._message(record, "hybrid.contoso.com", self.rng.randint(1, 3))
        record("<", "QUIT")
        record(">", "221 2.0.0 Closing connection.")
        record("-", "", "Local")
        return record.lines

    def _client_submission(self) -> list[str]:
        remote_ip = f"10.30.{self.rng.randint(1, 9)}.{self.rng.randint(1, 254)}"
        record = self._start(
            "SERVER2\\Client Frontend SERVER2",
            "10.20.0.12:587",
            f"{remote_ip}:{self.rng.randint(1024, 65535)}",
        )
        record("+", "", "")
        self._banner(record, "SERVER2.corp.contoso.com")
        record("<", "EHLO [10.30.1.15]")
        record(">", f"250  SERVER2.corp.contoso.com Hello [{remote_ip}] {_EXTENSIONS}")
        record("<", "STARTTLS")
        record(">", "220 2.0.0 SMTP server ready")
        record("*", _GOOD, f"Sending {_CERT_CONTEXT}")
        record("*", "", _TLS_OK)
        record("<", "EHLO [10.30.1.15]")
        record("*", "", "Client certificate chain validation status: 'EmptyCertificate'")
        record("*", "", "TlsDomainCapabilities='None'; Status='NoRemoteCertificate'")
        record("<", "AUTH LOGIN")
        record(">", "235 2.7.0 Authentication successful")
        self._message(record, "SERVER2.corp.contoso.com", 1)
        record("-", "", "Local")
        return record.lines

    def _rejected(self) -> list[str]:
        remote_ip = f"203.0.113.{self.rng.randint(1, 254)}"
        record = self._start(
            "SERVER2\\Default Frontend SERVER2",
            "10.20.0.12:25",
            f"{remote_ip}:{self.rng.randint(1024, 65535)}",
        )
        record("+", "", "")
        self._banner(record, "hybrid.contoso.com")
        record("<", f"EHLO {''.join(self.rng.choices(string.ascii_letters, k=9))}")
        record(">", f"250  hybrid.contoso.com Hello [{remote_ip}] {_EXTENSIONS}")
        record("<", "MAIL FROM:<offers@deals.example>")
        record(">", "250 2.1.0 Sender OK")
        record("<", "RCPT TO:<someone@fabrikam.example>")
        record(">", "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain")
        record("<", "QUIT")
        record("-", "", "Remote(SocketError)")
        return record.lines


def generate_log(path: Path, size_mb: float, seed: int = 20261120) -> int:
    """Write the log (ASCII, so characters are bytes); returns its size in bytes."""
    writer = _LogWriter(seed)
    target = int(size_mb * MB)
    written = 0
    file_size = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        while written < target:
            if file_size == 0:
                header = (
                    "#Software: Microsoft Exchange Server\r\n#Version: 15.2.1544.4\r\n"
                    "#Log-type: SMTP Receive Protocol Log\r\n#Date: 2026-11-20T00:00:00.000Z\r\n"
                    f"#Fields: {_FIELDS}\r\n"
                )
                out.write(header)
                written += len(header)
                file_size = len(header)
            block = "".join(line + "\r\n" for line in writer.session_lines())
            if written + len(block) > target:  # stay within the 200 MB input limit
                break
            out.write(block)
            written += len(block)
            file_size += len(block)
            if file_size > 10 * MB:  # Exchange rolls its log files over at 10 MB
                file_size = 0
    return path.stat().st_size


# -- children: one measurement per fresh process ---------------------------------------------------
def _child_baseline(path: str) -> dict[str, float]:
    start = time.perf_counter()
    rows = 0
    with open(path, newline="", encoding="utf-8") as handle:
        for _ in csv.reader(handle):
            rows += 1
    return {"seconds": time.perf_counter() - start, "rows": rows}


def _child_ours(path: str) -> dict[str, float | str]:
    start = time.perf_counter()
    diagnosis = diagnose_input(path, jobs=default_jobs())  # as `mailflow diagnose FILE` runs
    return {
        "seconds": time.perf_counter() - start,
        "what": "diagnose",
        "items": len(diagnosis.findings),
        "kind": diagnosis.input.kind,
    }


def _child(which: str, path: str) -> None:
    result: dict[str, float | str] = dict(
        _child_baseline(path) if which == "baseline" else _child_ours(path)
    )
    result["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["helper_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps(result))


def _measure(which: str, path: Path) -> dict[str, float | str]:
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_diagnose", "--child", which, str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=root,
        env=env,
    )
    result: dict[str, float | str] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# -- the adversarial paste -------------------------------------------------------------------------
def adversarial_paste(size: int = MB, seed: int = 7) -> str:
    rng = random.Random(seed)
    fragments = [
        "[[[[",
        "{{{{",
        "4.4.4.4.4 ",
        "<!channel> ",
        "<@U024BE7LH> ",
        "<mailto:megan.bowen@contoso.com|megan.bowen@contoso.com> ",
        "meet at 5.1.1 pm? ",
        "{LED=450 4.7.320 [Message=",
        "Reason: [",
        "2026-11-20T09:00:00.000Z,S\\C,08DC,1,",
        "Remote Server returned '",
        "<a@b.example>: host mx[192.0.2.1] said: ",
        "status=deferred (",
        "LastError : ",
        "Final-Recipient: rfc822; ",
        "\n",
        "\r\n",
        "    ",
        "python 3.11.2 ",
    ]
    pieces: list[str] = []
    length = 0
    while length < size:
        piece = (
            rng.choice(fragments)
            if rng.random() < 0.6
            else "".join(rng.choices(string.printable, k=rng.randint(1, 60)))
        )
        pieces.append(piece)
        length += len(piece)
    return "".join(pieces)[:size]


def _time_paste(text: str) -> tuple[float, int]:
    diagnose_text("warm up 550 5.1.1 smtp")  # loads the knowledge base once
    start = time.perf_counter()
    diagnosis = diagnose_text(text)
    return time.perf_counter() - start, len(diagnosis.findings)


def short_lines(size: int, seed: int = 11) -> bytes:
    """`size` bytes of short lines as chat or a trimmed log has them."""
    rng = random.Random(seed)
    words = ["ok", "done", "retry", "queue", "mail", "hi", "+1", "ack", "see above", "thanks"]
    pieces: list[str] = []
    length = 0
    while length < size:
        line = " ".join(rng.choices(words, k=rng.randint(1, 2))) + "\n"
        pieces.append(line)
        length += len(line)
    return "".join(pieces).encode("ascii")[:size]


def _time_short_lines(size: int) -> tuple[float, int]:
    data = short_lines(size)
    lines = data.count(b"\n")
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        diagnose_bytes(data, "short-lines.txt")
        best = min(best, time.perf_counter() - start)
    return best, lines


CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "sisimai" / "samples"
_SISIMAI = (
    "use Sisimai; my $v = Sisimai->make($ARGV[0], delivered => 1, vacation => 1);"
    " print scalar(@$v), qq{\n};"
)


def _time_batch(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def _batch(repeat: int) -> None:
    if not CORPUS.is_dir():
        print("batch: ../shared/corpus/sisimai is not beside the checkout; skipped")
        return
    messages = sum(1 for p in CORPUS.iterdir() if p.suffix == ".eml")
    ours = [str(Path(sys.executable).with_name("mailflow")), "diagnose", str(CORPUS), "--json"]
    perl = ["perl", "-e", _SISIMAI, str(CORPUS)]
    have_perl = (
        subprocess.run(
            ["perl", "-MSisimai", "-e", "1"], capture_output=True, check=False
        ).returncode
        == 0
    )
    single = [*ours, "--jobs", "1"]
    our_times: list[float] = []
    single_times: list[float] = []
    their_times: list[float] = []
    runs = [(our_times, ours), (single_times, single)]
    if have_perl:
        runs.append((their_times, perl))
    for index in range(max(1, repeat) * 2):
        for times, command in runs if index % 2 == 0 else runs[::-1]:
            times.append(_time_batch(command))
    our_rate = messages / min(our_times)
    print(
        f"batch     mailflow diagnose DIR --json : {our_rate:7.0f} messages/s"
        f" ({min(our_times):.2f} s for {messages}, {default_jobs()} workers)"
    )
    print(
        f"batch     ... --jobs 1                 : {messages / min(single_times):7.0f}"
        f" messages/s ({min(single_times):.2f} s)"
    )
    if not have_perl:
        print("batch: Perl Sisimai is not installed (apt-get install libsisimai-perl); no ratio")
        return
    their_rate = messages / min(their_times)
    print(
        f"batch     perl Sisimai->make(DIR)      : {their_rate:7.0f} messages/s"
        f" ({min(their_times):.2f} s)"
    )
    print(
        f"{_verdict(our_rate >= 2 * their_rate)}  batch >= 2x Sisimai"
        f" (ratio {our_rate / their_rate:.2f})"
    )


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--mb", type=float, default=200.0, help="log size in MB (default 200)")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each side (best counts)")
    parser.add_argument("--keep", metavar="PATH", help="write the log here and keep it")
    parser.add_argument("--child", nargs=2, metavar=("WHICH", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(*args.child)
        return 0

    with tempfile.TemporaryDirectory(prefix="bench-diagnose-") as scratch:
        path = Path(args.keep) if args.keep else Path(scratch) / "RECV2026112000-1.LOG"
        started = time.perf_counter()
        size = generate_log(path, args.mb)
        megabytes = size / MB
        print(
            f"generated {megabytes:.1f} MB SmtpReceive log in {time.perf_counter() - started:.1f} s"
            f" ({path})"
        )
        baseline_runs: list[dict[str, float | str]] = []
        our_runs: list[dict[str, float | str]] = []
        for turn in range(max(1, args.repeat)):
            for which in ("baseline", "ours") if turn % 2 == 0 else ("ours", "baseline"):
                (baseline_runs if which == "baseline" else our_runs).append(_measure(which, path))
        baseline = min(baseline_runs, key=lambda run: float(run["seconds"]))
        ours = min(our_runs, key=lambda run: float(run["seconds"]))

    base_rate = megabytes / float(baseline["seconds"])
    our_rate = megabytes / float(ours["seconds"])
    peak = max(float(run["rss_mb"]) for run in our_runs)
    helper = max(float(run["helper_rss_mb"]) for run in our_runs)
    total = max(float(run["rss_mb"]) + float(run["helper_rss_mb"]) for run in our_runs)
    print(
        f"baseline  csv.reader iterating the file : {base_rate:7.1f} MB/s "
        f"({float(baseline['seconds']):.2f} s, peak RSS {float(baseline['rss_mb']):.0f} MB)"
    )
    print(
        f"ours      {ours['what']} (kind {ours['kind']}, {ours['items']} results)"
        f" : {our_rate:7.1f} MB/s ({float(ours['seconds']):.2f} s, peak RSS {peak:.0f} MB,"
        f" scan-ahead helper {helper:.0f} MB)"
    )
    print(
        f"  all runs (s): baseline {[round(float(r['seconds']), 2) for r in baseline_runs]}, "
        f"ours {[round(float(r['seconds']), 2) for r in our_runs]}"
    )

    paste = adversarial_paste()
    paste_seconds, paste_results = _time_paste(paste)
    print(f"1 MB adversarial paste: {paste_seconds:.3f} s ({paste_results} results)")

    print(
        f"{_verdict(our_rate >= base_rate)}  throughput >= baseline "
        f"({our_rate:.1f} vs {base_rate:.1f} MB/s, ratio {our_rate / base_rate:.2f})"
    )
    print(  # both processes' peaks added up, though they share the pages of the code
        f"{_verdict(total < RSS_LIMIT_MB)}  peak RSS < {RSS_LIMIT_MB:.0f} MB"
        f" ({total:.0f} MB: parser {peak:.0f} + helper {helper:.0f})"
    )
    print(
        f"{_verdict(paste_seconds < PASTE_LIMIT_S)}  1 MB paste < {PASTE_LIMIT_S} s "
        f"({paste_seconds:.3f} s)"
    )

    small_s, small_lines = _time_short_lines(MB)
    large_s, large_lines = _time_short_lines(10 * MB)
    small_rate, large_rate = small_lines / small_s, large_lines / large_s
    per_line = (large_s / large_lines) / (small_s / small_lines)
    print(
        f"short lines 1 MB : {small_rate / 1e6:5.2f} M lines/s"
        f" ({small_lines} lines, {small_s:.3f} s)"
    )
    print(
        f"short lines 10 MB: {large_rate / 1e6:5.2f} M lines/s"
        f" ({large_lines} lines, {large_s:.3f} s)"
    )
    print(f"{_verdict(per_line < 1.25)}  linear (time per line 10 MB / 1 MB = {per_line:.2f})")
    print(f"{_verdict(min(small_rate, large_rate) >= 2e6)}  >= 2 M lines/s")
    _batch(args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
