"""Shared fixtures for the probe's integration tests: one test PKI per session."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakes.certs import CertFactory, Issued


@dataclass(frozen=True)
class Pki:
    factory: CertFactory
    root: Issued
    intermediate: Issued
    leaf: Issued  # mx.example.test, issued by the intermediate
    self_signed: Issued  # CN=EXCH01, as Exchange's own certificate


@pytest.fixture(scope="session")
def pki() -> Pki:
    factory = CertFactory()
    root = factory.root_ca()
    intermediate = factory.intermediate(root)
    leaf = factory.leaf(intermediate, ["mx.example.test", "mail.example.test"])
    self_signed = factory.self_signed("EXCH01", ["EXCH01", "exch01.corp.example.test"])
    return Pki(factory, root, intermediate, leaf, self_signed)


@pytest.fixture
def ca_file(pki: Pki, tmp_path: Path) -> Path:
    """A CA file holding the test PKI's root (what `--ca-file` gets)."""
    path = tmp_path / "root.pem"
    path.write_bytes(pki.root.pem)
    return path
