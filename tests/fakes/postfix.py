"""One real Postfix instance for the probe's tests, started from a temporary config directory.

main.cf and master.cf are written at test time: own queue/data directories, logging to a
file (`maillog_file` via postlogd), and one `smtpd` service per scenario on its own
127.0.0.x:port, each with its own `-o smtpd_tls_*` overrides. Start and stop with
`postfix -c DIR start|stop`; no system-wide Postfix is touched.

The binaries come from scripts/install-postfix.sh (called by scripts/test.sh). Postfix must
run as root (it drops privileges to `mail_owner` itself).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

POSTFIX = "/usr/sbin/postfix"
POSTCONF = "/usr/sbin/postconf"
_START_TIMEOUT = 20.0

# The internal services every Postfix needs, with chroot off (column 5 = "n").
_INTERNAL_SERVICES = """\
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def postfix_unavailable() -> str | None:
    """Why Postfix tests cannot run here, or None when they can."""
    if not Path(POSTFIX).exists():
        return f"{POSTFIX} is not installed (scripts/install-postfix.sh installs it)"
    if os.geteuid() != 0:
        return "Postfix must be started as root"
    return None


@dataclass(frozen=True)
class SmtpdService:
    """One smtpd listener. `chain_pem` holds the private key, then the certificate chain (the
    smtpd_tls_chain_files format); None means no STARTTLS (smtpd_tls_security_level=none)."""

    name: str  # also used as myhostname in the banner
    host: str  # 127.0.0.x
    chain_pem: bytes | None


class PostfixInstance:
    def __init__(self, services: Sequence[SmtpdService], port: int) -> None:
        self.services = tuple(services)
        self.port = port
        self.root = Path(tempfile.mkdtemp(prefix="mailflow-postfix-"))
        self.config_dir = self.root / "config"
        self.maillog = self.root / "maillog"

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        try:
            self._write_config()
            self._postfix("check")
            self._postfix("start")
            self._wait_listening()
        except Exception:
            self.stop()
            raise

    def _write_config(self) -> None:
        self.root.chmod(0o755)  # smtpd runs as the postfix user and must reach its files
        self.config_dir.mkdir()
        (self.root / "queue").mkdir()  # postfix creates the subdirectories, not this one
        tls_dir = self.root / "tls"
        tls_dir.mkdir(mode=0o700)
        for service in self.services:
            if service.chain_pem is not None:
                path = tls_dir / f"{service.name}.pem"
                path.write_bytes(service.chain_pem)
                path.chmod(0o600)
        (self.config_dir / "main.cf").write_text(self._main_cf())
        (self.config_dir / "master.cf").write_text(self._master_cf())

    def stop(self) -> None:
        if self.config_dir.exists():
            subprocess.run(
                [POSTFIX, "-c", str(self.config_dir), "stop"],
                capture_output=True,
                timeout=30,
                check=False,
            )
            self._wait_master_gone()
        shutil.rmtree(self.root, ignore_errors=True)

    def log_text(self) -> str:
        return self.maillog.read_text(errors="replace") if self.maillog.exists() else ""

    # --- configuration -------------------------------------------------------------------

    def _main_cf(self) -> str:
        return "\n".join(
            [
                "compatibility_level = 3.6",
                f"queue_directory = {self.root / 'queue'}",
                f"data_directory = {self.root / 'data'}",
                f"maillog_file = {self.maillog}",
                f"maillog_file_prefixes = {self.root}",
                "mail_owner = postfix",
                "setgid_group = postdrop",
                "myhostname = postfix.example.test",
                "mydomain = example.test",
                "myorigin = $myhostname",
                "mydestination =",
                "relay_domains =",
                "local_recipient_maps =",
                "alias_maps =",
                "alias_database =",
                # Must name interface addresses; the services below bind their own
                # 127.0.0.x:port, which master.cf allows for any loopback address.
                "inet_interfaces = loopback-only",
                "inet_protocols = ipv4",
                "mynetworks = 127.0.0.0/8",
                "smtpd_banner = $myhostname ESMTP Postfix",
                "smtputf8_enable = no",
                "biff = no",
                "smtpd_tls_loglevel = 1",
                "smtpd_tls_security_level = may",
                "smtpd_tls_session_cache_database =",
                "",
            ]
        )

    def _master_cf(self) -> str:
        lines = []
        for service in self.services:
            options = [f"-o myhostname={service.name}"]
            if service.chain_pem is None:
                options.append("-o smtpd_tls_security_level=none")
            else:
                options += [
                    "-o smtpd_tls_security_level=may",
                    f"-o smtpd_tls_chain_files={self.root / 'tls' / service.name}.pem",
                ]
            lines.append(
                f"{service.host}:{self.port} inet n - n - - smtpd\n  " + "\n  ".join(options)
            )
        return "\n".join(lines) + "\n" + _INTERNAL_SERVICES

    # --- process control -----------------------------------------------------------------

    def _postfix(self, command: str) -> None:
        result = subprocess.run(
            [POSTFIX, "-c", str(self.config_dir), command],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"postfix {command} failed ({result.returncode}): "
                f"{result.stderr.strip()[-2000:]}\n{self.log_text()[-2000:]}"
            )

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT
        waiting = {service.host for service in self.services}
        while waiting:
            for host in list(waiting):
                with socket.socket() as sock:
                    sock.settimeout(0.5)
                    if sock.connect_ex((host, self.port)) == 0:
                        waiting.discard(host)
            if waiting and time.monotonic() > deadline:
                raise RuntimeError(
                    f"postfix did not listen on {sorted(waiting)}:{self.port}\n"
                    f"{self.log_text()[-2000:]}"
                )
            time.sleep(0.1)

    def _wait_master_gone(self) -> None:
        pid_file = self.root / "queue" / "pid" / "master.pid"
        deadline = time.monotonic() + 10
        while pid_file.exists() and time.monotonic() < deadline:
            try:
                pid = int(pid_file.read_text().split()[0])
                os.kill(pid, 0)
            except (ValueError, IndexError, ProcessLookupError, FileNotFoundError):
                return
            time.sleep(0.1)
