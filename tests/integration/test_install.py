"""mailflow as users install it: an sdist and a wheel built from the checkout, the wheel (and
`pipx install`) into fresh virtual environments outside the checkout, every command run from
another directory. pip fetches the dependencies from the package registry (or its cache)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakes.dns_server import FakeDnsServer
from tests.fakes.slack_api import BOT_TOKEN
from tests.fakes.smtp_servers import AiosmtpdServer, server_context
from tests.integration.conftest import Pki

REPO = Path(__file__).resolve().parents[2]
INSTALL_TIMEOUT = 600


def _shipped_files(folder: str) -> set[str]:
    """Every data file of a top-level folder, relative to it."""
    root = REPO / folder
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def _clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without anything that points Python or mailflow at the
    checkout."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "MAILFLOW_", "PYTHON", "VIRTUAL_ENV", "PIP_REQUIRE"))
    }
    return env | extra


def _run(
    *cmd: str | Path, cwd: Path, timeout: float = 60, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(c) for c in cmd],
        cwd=cwd,
        env=_clean_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def _copy_of_checkout(target: Path) -> Path:
    """The checkout's sources without its venv, caches and build output: builds write into
    the source folder (egg-info, build/), which must not touch the real checkout."""
    skipped = shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis"
    )
    shutil.copytree(REPO, target, ignore=skipped)
    return target


@dataclass(frozen=True)
class Dist:
    sdist: Path
    wheel: Path


@dataclass(frozen=True)
class Installed:
    bin: Path
    package: Path  # site-packages/bot of that environment
    elsewhere: Path  # a directory that is neither the checkout nor the environment


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Dist:
    """`python -m build`: the sdist, then the wheel built from that sdist (so the wheel
    proves the sdist is complete)."""
    out = tmp_path_factory.mktemp("dist")
    checkout = _copy_of_checkout(tmp_path_factory.mktemp("sources") / "checkout")
    _ok(
        _run(
            sys.executable,
            "-m",
            "build",
            "--outdir",
            out,
            checkout,
            cwd=out,
            timeout=INSTALL_TIMEOUT,
        )
    )
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    return Dist(sdist, wheel)


@pytest.fixture(scope="module")
def installed(dist: Dist, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    root = tmp_path_factory.mktemp("installed")
    venv = root / "venv"
    _ok(_run(sys.executable, "-m", "venv", venv, cwd=root))
    _ok(
        _run(
            venv / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check",
            dist.wheel, cwd=root, timeout=INSTALL_TIMEOUT,
        )
    )  # fmt: skip
    (package,) = venv.glob("lib/python3*/site-packages/bot")
    elsewhere = root / "elsewhere"
    elsewhere.mkdir()
    yield Installed(venv / "bin", package, elsewhere)


def test_the_sdist_carries_config_examples_and_the_licence(dist: Dist) -> None:
    with tarfile.open(dist.sdist) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    assert "LICENSE" in names
    assert {f"config/{f}" for f in _shipped_files("config")} <= names
    assert {f"examples/{f}" for f in _shipped_files("examples")} <= names


def test_the_wheel_carries_every_config_file_and_example_inside_the_package(dist: Dist) -> None:
    with zipfile.ZipFile(dist.wheel) as wheel:
        names = set(wheel.namelist())
    assert {f"bot/config/{f}" for f in _shipped_files("config")} <= names
    assert {f"bot/examples/{f}" for f in _shipped_files("examples")} <= names
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)


def test_diagnose_runs_from_another_directory(installed: Installed, tmp_path: Path) -> None:
    sample = tmp_path / "ndr.txt"
    shutil.copy(REPO / "examples" / "ndr-outlook-5.1.1.txt", sample)
    result = _ok(_run(installed.bin / "mailflow", "diagnose", sample, cwd=installed.elsewhere))
    assert "ndr.recipient_not_found" in result.stdout
    example = _ok(
        _run(installed.bin / "mailflow", "diagnose", "--example", "postfix-tls.log",
             cwd=installed.elsewhere)
    )  # fmt: skip
    assert "mta.tls.certificate_verification_failed" in example.stdout


def test_the_playground_page_ships_inside_the_package(installed: Installed) -> None:
    static = installed.package / "playground" / "static"
    assert sorted(p.name for p in static.iterdir()) == [
        "login.html", "page.css", "page.html", "page.js",
    ]  # fmt: skip


def test_serve_help_runs_from_another_directory(installed: Installed) -> None:
    result = _ok(_run(installed.bin / "mailflow", "serve", "--help", cwd=installed.elsewhere))
    assert "usage: mailflow serve" in result.stdout


async def test_check_runs_from_another_directory(
    installed: Installed, pki: Pki, tmp_path: Path
) -> None:
    ca_file = tmp_path / "root.pem"
    ca_file.write_bytes(pki.root.pem)
    zone = {"mx.install.test": {"A": ["127.0.0.1"]}}
    leaf = pki.factory.leaf(pki.intermediate, ["mx.install.test"], index=31)
    async with (
        FakeDnsServer(zone) as dns,
        AiosmtpdServer(server_context(leaf, tmp_path, "install"), "127.0.0.1") as smtp,
    ):
        process = await asyncio.create_subprocess_exec(
            str(installed.bin / "mailflow"), "check", "--host", "mx.install.test",
            "--nameserver", dns.address, "--allow-net", "127.0.0.0/8", "--port", str(smtp.port),
            "--ca-file", str(ca_file), "--attempts", "1", "--no-policies",
            cwd=installed.elsewhere, env=_clean_env(),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, out.decode() + err.decode()
    assert "No problems found" in out.decode()
    assert "TLSv1.3" in out.decode()


def _serve_env(tmp_path: Path) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": "secret",
        "PORT": "9",  # never reached: the start must stop before listening
        "MAILFLOW_DB": str(tmp_path / "serve.db"),
    }


@pytest.mark.parametrize("fault", ["invalid", "missing"])
def test_serve_refuses_to_start_with_broken_knowledge(
    installed: Installed, tmp_path: Path, fault: str
) -> None:
    knowledge = installed.package / "config" / "causes"
    backup = tmp_path / "causes"
    shutil.copytree(knowledge, backup)
    try:
        if fault == "invalid":
            (knowledge / "ndr.toml").write_bytes(os.urandom(512))
        else:
            shutil.rmtree(knowledge)
        diagnose = _run(installed.bin / "mailflow", "diagnose", "--example", "postfix-tls.log",
                        cwd=installed.elsewhere)  # fmt: skip
        started = time.monotonic()
        result = _run(installed.bin / "mailflow", "serve", cwd=installed.elsewhere,
                      timeout=30, **_serve_env(tmp_path))  # fmt: skip
        elapsed = time.monotonic() - started
    finally:
        shutil.rmtree(knowledge, ignore_errors=True)
        shutil.copytree(backup, knowledge)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("mailflow serve: cannot load ")
    assert ("ndr.toml" if fault == "invalid" else "causes: missing") in lines[0]
    assert elapsed < 5
    assert diagnose.returncode == 2
    assert diagnose.stderr.startswith("mailflow: error: cannot load ")
    assert len(diagnose.stderr.strip().splitlines()) == 1, diagnose.stderr


def test_pipx_install_runs_from_another_directory(tmp_path: Path) -> None:
    checkout = _copy_of_checkout(tmp_path / "checkout")
    tools = tmp_path / "tools"
    _ok(_run(sys.executable, "-m", "venv", tools, cwd=tmp_path))
    pip = (tools / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check")
    _ok(_run(*pip, "pipx", cwd=tmp_path, timeout=INSTALL_TIMEOUT))
    bin_dir = tmp_path / "bin"
    pipx_env = {"PIPX_HOME": str(tmp_path / "pipx"), "PIPX_BIN_DIR": str(bin_dir)}
    _ok(_run(tools / "bin" / "pipx", "install", ".", cwd=checkout, timeout=INSTALL_TIMEOUT,
             **pipx_env))  # fmt: skip
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = _ok(_run(bin_dir / "mailflow", "diagnose", "--example",
                      "queue-tlscertificatename-not-found.txt", cwd=elsewhere))  # fmt: skip
    assert "queue.tls_certificate_not_found" in result.stdout
