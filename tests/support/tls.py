"""Throw-away CA, server and client certificates made with the ``openssl`` CLI for TLS tests.

Why the CLI: it is on every CI image and keeps the test dependencies to what the daemon uses;
EC P-256 keys make the whole set in well under a second.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

_EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


@dataclass(frozen=True)
class TLSFiles:
    ca_cert: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _run(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


def make_ca(d: Path, name: str) -> tuple[Path, Path]:
    _run("req", "-x509", *_EC, "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "2",
         "-subj", f"/CN={name}", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    return d / f"{name}.crt", d / f"{name}.key"


def make_leaf(d: Path, name: str, ca: str, usage: str) -> tuple[Path, Path]:
    ext = d / f"{name}.ext"
    ext.write_text(
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
        f"extendedKeyUsage={usage}\n"
        "basicConstraints=CA:FALSE\n"
        "authorityKeyIdentifier=keyid,issuer\n"
        "subjectKeyIdentifier=hash\n"
    )
    _run("req", *_EC, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}",
         cwd=d)
    _run("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
         "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", "-extfile", ext.name, cwd=d)
    return d / f"{name}.crt", d / f"{name}.key"


def make_tls_files(d: Path, prefix: str = "") -> TLSFiles:
    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI not installed")
    d.mkdir(parents=True, exist_ok=True)
    ca_cert, _ = make_ca(d, f"{prefix}ca")
    server_cert, server_key = make_leaf(d, f"{prefix}server", f"{prefix}ca", "serverAuth")
    client_cert, client_key = make_leaf(d, f"{prefix}client", f"{prefix}ca", "clientAuth")
    return TLSFiles(ca_cert, server_cert, server_key, client_cert, client_key)
