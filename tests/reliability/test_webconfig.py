"""/metrics behind basic auth and TLS from a web config file, checked with a real HTTP client.

Every server here is a real MetricsServer on loopback; the client is urllib with a real TLS
context, so these tests fail if the handshake, the 401 challenge or the password check break.
"""

from __future__ import annotations

import base64
import shutil
import socket
import ssl
import textwrap
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import bcrypt
import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Gauge

from hashwatch.config import Config, ConfigError
from hashwatch.serve.exposition import Exposition, Part
from hashwatch.serve.server import MetricsServer
from hashwatch.serve.auth import BasicAuth, parse_basic_header
from hashwatch.serve.webconfig import load_web_config

from ..support.tls import TLSFiles, make_tls_files

PASSWORD = "correct horse battery staple"
HASH = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


def write(d: Path, text: str, name: str = "web.yml") -> Path:
    path = d / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def tls_yaml(tls: TLSFiles, extra: str = "") -> str:
    return (f"tls_server_config:\n  cert_file: {tls.server_cert}\n  key_file: {tls.server_key}\n"
            + extra)


@contextmanager
def serve(web_config: Path) -> Iterator[MetricsServer]:
    registry = CollectorRegistry()
    Gauge("hashwatch_probe_ratio", "A probe gauge for the test.", registry=registry).set(0.5)
    server = MetricsServer(Exposition([Part(registry)]), listen="127.0.0.1", port=0,
                           **load_web_config(web_config).server_options())
    server.start()
    try:
        yield server
    finally:
        server.stop()


def get(url: str, *, user: str | None = None, password: str | None = None,
        context: ssl.SSLContext | None = None, header: str | None = None):
    """(status, headers, body) of a GET; HTTP errors are answers, not exceptions."""
    req = urllib.request.Request(url)
    if user is not None:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        req.add_header("Authorization", f"Basic {token}")
    if header is not None:
        req.add_header("Authorization", header)
    try:
        with urllib.request.urlopen(req, timeout=10, context=context) as resp:
            return resp.status, resp.headers, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read().decode()


def client_ctx(tls: TLSFiles, *, cert: bool = False) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(tls.ca_cert))
    if cert:
        ctx.load_cert_chain(str(tls.client_cert), str(tls.client_key))
    return ctx


# -- basic auth --------------------------------------------------------------------------------


def test_metrics_server_basic_auth_right_password_serves_metrics(tmp_path):
    web = write(tmp_path, f"basic_auth_users:\n  prometheus: '{HASH}'\n")
    with serve(web) as srv:
        status, _, body = get(f"http://127.0.0.1:{srv.port}/metrics",
                              user="prometheus", password=PASSWORD)
    assert status == 200
    assert "hashwatch_probe_ratio 0.5" in body


@pytest.mark.parametrize(
    "user,password,header",
    [
        (None, None, None),
        ("prometheus", "wrong", None),
        ("nobody", PASSWORD, None),
        (None, None, "Basic !!!not-base64"),
        (None, None, "Bearer abc"),
        (None, None, "Basic " + base64.b64encode(b"no-colon").decode()),
    ],
    ids=["missing", "wrong_password", "unknown_user", "bad_base64", "bearer", "no_colon"],
)
def test_metrics_server_basic_auth_bad_credentials_get_401_with_realm(tmp_path, user, password,
                                                                       header):
    web = write(tmp_path, f"basic_auth_users:\n  prometheus: '{HASH}'\n")
    with serve(web) as srv:
        status, headers, body = get(f"http://127.0.0.1:{srv.port}/metrics", user=user,
                                    password=password, header=header)
    assert status == 401
    assert headers["WWW-Authenticate"] == 'Basic realm="hashwatch", charset="UTF-8"'
    assert "hashwatch_probe_ratio" not in body


def test_basic_auth_check_repeated_success_runs_bcrypt_once():
    calls = []

    def checkpw(pw: bytes, hashed: bytes) -> bool:
        calls.append(hashed)
        return bcrypt.checkpw(pw, hashed)

    auth = BasicAuth({"prometheus": HASH}, checkpw=checkpw)
    header = "Basic " + base64.b64encode(f"prometheus:{PASSWORD}".encode()).decode()
    assert all(auth.check(header) for _ in range(5))
    assert len(calls) == 1
    wrong = "Basic " + base64.b64encode(b"prometheus:nope").decode()
    assert not auth.check(wrong) and not auth.check(wrong)
    assert len(calls) == 3  # failures are never cached as successes


def test_basic_auth_check_unknown_user_still_pays_one_bcrypt():
    calls = []
    auth = BasicAuth({"prometheus": HASH},
                     checkpw=lambda pw, h: calls.append(h) or bcrypt.checkpw(pw, h))
    assert not auth.check("Basic " + base64.b64encode(f"nobody:{PASSWORD}".encode()).decode())
    assert len(calls) == 1 and calls[0] != HASH.encode()


@given(user=st.text(min_size=1).filter(lambda u: ":" not in u), password=st.text())
def test_parse_basic_header_round_trip_any_unicode_returns_pair(user, password):
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    assert parse_basic_header(f"Basic {token}") == (user, password)
    assert parse_basic_header(f"basic  {token} ") == (user, password)


# -- TLS ---------------------------------------------------------------------------------------


def test_metrics_server_tls_verifying_client_gets_metrics(tmp_path, tls):
    with serve(write(tmp_path, tls_yaml(tls))) as srv:
        status, _, body = get(f"https://localhost:{srv.port}/metrics", context=client_ctx(tls))
    assert status == 200 and "hashwatch_probe_ratio 0.5" in body


def test_metrics_server_tls_plain_http_client_fails_quietly_and_server_keeps_serving(
    tmp_path, tls, capfd
):
    with serve(write(tmp_path, tls_yaml(tls))) as srv:
        with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
            get(f"http://127.0.0.1:{srv.port}/metrics")
        status, _, _ = get(f"https://127.0.0.1:{srv.port}/metrics", context=client_ctx(tls))
    assert status == 200
    assert "Traceback" not in capfd.readouterr().err


def test_metrics_server_tls_silent_client_does_not_block_other_scrapes(tmp_path, tls):
    with serve(write(tmp_path, tls_yaml(tls))) as srv:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5):
            # this client never sends a ClientHello; a handshake in the accept loop would hang
            status, _, _ = get(f"https://127.0.0.1:{srv.port}/metrics", context=client_ctx(tls))
    assert status == 200


def test_metrics_server_tls_and_basic_auth_needs_both(tmp_path, tls):
    web = write(tmp_path, tls_yaml(tls) + f"basic_auth_users:\n  prometheus: '{HASH}'\n")
    with serve(web) as srv:
        url = f"https://localhost:{srv.port}/metrics"
        assert get(url, context=client_ctx(tls))[0] == 401
        assert get(url, context=client_ctx(tls), user="prometheus", password=PASSWORD)[0] == 200


def test_metrics_server_client_cert_required_only_signed_clients_served(tmp_path, tls):
    web = write(tmp_path, tls_yaml(tls, "  client_auth_type: RequireAndVerifyClientCert\n"
                                        f"  client_ca_file: {tls.ca_cert}\n"))
    with serve(web) as srv:
        url = f"https://localhost:{srv.port}/metrics"
        with pytest.raises((urllib.error.URLError, ConnectionError, ssl.SSLError, OSError)):
            get(url, context=client_ctx(tls))
        status, _, _ = get(url, context=client_ctx(tls, cert=True))
    assert status == 200


def test_metrics_server_min_version_tls13_refuses_tls12_client(tmp_path, tls):
    web = write(tmp_path, tls_yaml(tls, "  min_version: TLS13\n"))
    old = client_ctx(tls)
    old.maximum_version = ssl.TLSVersion.TLSv1_2
    with serve(web) as srv:
        url = f"https://localhost:{srv.port}/metrics"
        with pytest.raises((urllib.error.URLError, ssl.SSLError, ConnectionError)):
            get(url, context=old)
        assert get(url, context=client_ctx(tls))[0] == 200


def test_metrics_server_tls_cert_renewed_on_disk_served_without_restart(tmp_path, tls):
    live = tmp_path / "live"
    live.mkdir()
    shutil.copy(tls.server_cert, live / "server.crt")
    shutil.copy(tls.server_key, live / "server.key")
    web = write(live, "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n")
    renewed = make_tls_files(tmp_path / "renewed", prefix="new")
    with serve(web) as srv:
        url = f"https://localhost:{srv.port}/metrics"
        assert get(url, context=client_ctx(tls))[0] == 200
        shutil.copy(renewed.server_key, live / "server.key")
        shutil.copy(renewed.server_cert, live / "server.crt")
        assert get(url, context=client_ctx(renewed))[0] == 200
        with pytest.raises((urllib.error.URLError, ssl.SSLError)):
            get(url, context=client_ctx(tls))  # the old CA no longer matches


# -- validation ----------------------------------------------------------------------------------

HOWTO = ("create one with: python3 -c 'import bcrypt,getpass; "
         "print(bcrypt.hashpw(getpass.getpass().encode(), bcrypt.gensalt()).decode())'")
CASES = [
    ("basic_auth_user:\n  a: b\n",
     ["{f}:1: basic_auth_user: unknown key; a web config file takes tls_server_config and "
      "basic_auth_users (Prometheus exporter-toolkit format)"]),
    ("tls_server_config:\n  cert_file: {crt}\n  key_file: {key}\n  certfile: c\n",
     ["{f}:4: tls_server_config.certfile: unknown key; tls_server_config takes cert_file, "
      "key_file, client_auth_type, client_ca_file, min_version, max_version"]),
    ("http_server_config:\n  http2: true\n",
     ["{f}:1: http_server_config: not supported by hashwatch's metrics server; remove it"]),
    ("basic_auth_users:\n  prom: hunter2-plain\n",
     ["{f}:2: basic_auth_users.prom: not a bcrypt hash (value not shown); " + HOWTO]),
    ("basic_auth_users:\n  prom: 12345\n",
     ["{f}:2: basic_auth_users.prom: not a bcrypt hash (value not shown); " + HOWTO]),
    ("basic_auth_users:\n  - prom\n",
     ["{f}:1: basic_auth_users: expected a mapping of user name to bcrypt hash, like "
      "prometheus: $2b$10$..."]),
    ("tls_server_config:\n  cert_file: nope.crt\n  key_file: nope.key\n",
     ["{f}:2: tls_server_config.cert_file: file {d}/nope.crt not found (relative paths start "
      "at the web config file's folder)",
      "{f}:3: tls_server_config.key_file: file {d}/nope.key not found (relative paths start "
      "at the web config file's folder)"]),
    ("tls_server_config:\n  cert_file: {crt}\n",
     ["{f}:1: tls_server_config.key_file: required key is missing"]),
    ("tls_server_config:\n  cert_file: {crt}\n  key_file: {crt}\n",
     ["{f}:2: tls_server_config.cert_file: cannot load the certificate and key; check that "
      "both are PEM and that key_file belongs to cert_file"]),
    ("tls_server_config:\n  cert_file: {crt}\n  key_file: {other_key}\n",
     ["{f}:2: tls_server_config.cert_file: cannot load the certificate and key; check that "
      "both are PEM and that key_file belongs to cert_file"]),
    ("tls_server_config:\n  cert_file: {crt}\n  key_file: {key}\n"
     "  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: {key}\n",
     ["{f}:5: tls_server_config.client_ca_file: cannot load the CA certificates; expected PEM "
      "certificates"]),
    ("tls_server_config:\n  cert_file: {crt}\n  key_file: {key}\n"
     "  client_auth_type: RequireAnyClientCert\n",
     ["{f}:4: tls_server_config.client_auth_type: RequireAnyClientCert is not supported (it "
      "accepts unverified certificates); use VerifyClientCertIfGiven or "
      "RequireAndVerifyClientCert with client_ca_file"]),
    ("tls_server_config:\n  cert_file: {crt}\n  key_file: {key}\n"
     "  client_auth_type: RequireAndVerifyClientCert\n",
     ["{f}:4: tls_server_config.client_auth_type: RequireAndVerifyClientCert needs "
      "client_ca_file (the CA that signs client certificates)"]),
    ("tls_server_config:\n  cert_file: {crt}\n  key_file: {key}\n  client_ca_file: {crt}\n",
     ["{f}:4: tls_server_config.client_ca_file: client_ca_file is set but client_auth_type is "
      "NoClientCert; set client_auth_type: RequireAndVerifyClientCert or remove client_ca_file"]),
    ("tls_server_config:\n  cert_file: {crt}\n  key_file: {key}\n  min_version: TLS1.2\n",
     ["{f}:4: tls_server_config.min_version: Input should be 'TLS10', 'TLS11', 'TLS12' or "
      "'TLS13' (got 'TLS1.2')"]),
    ("tls_server_config:\n  cert_file: {crt}\n  key_file: {key}\n  min_version: TLS13\n"
     "  max_version: TLS12\n",
     ["{f}:5: tls_server_config.max_version: max_version TLS12 is below min_version TLS13"]),
    ("- tls_server_config\n",
     ["{f}:1: the top level must be a mapping (tls_server_config:, basic_auth_users:)"]),
    ("", ["{f}: web config file is empty; add tls_server_config and/or basic_auth_users, or "
          "remove metrics.web_config_file"]),
    ("basic_auth_users:\n  a: [\n",
     ["{f}:3: YAML syntax error: expected the node content, but found '<stream end>'"]),
    ("basic_auth_users:\n  a: '{hash}'\n  a: '{hash}'\n",
     ["{f}:3: YAML syntax error: duplicate key 'a' (first at line 2)"]),
]


@pytest.mark.parametrize("text,expected", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_load_web_config_bad_file_names_line_key_and_fix(tmp_path, tls, text, expected):
    fmt = dict(crt=tls.server_cert, key=tls.server_key, other_key=tls.client_key, hash=HASH,
               d=tmp_path)
    path = write(tmp_path, text.format(**fmt))
    with pytest.raises(ConfigError) as info:
        load_web_config(path)
    assert info.value.problems == [e.format(f=path, **fmt) for e in expected]
    assert HASH not in str(info.value) and "hunter2" not in str(info.value)


def test_load_web_config_missing_file_names_the_config_key(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_web_config(tmp_path / "absent.yml")
    assert info.value.problems == [
        f"{tmp_path / 'absent.yml'}: web config file not found; create it or fix "
        "metrics.web_config_file"
    ]


# -- wired into the daemon ----------------------------------------------------------------------


def daemon_config(tmp_path: Path, **metrics) -> Config:
    return Config.model_validate({
        "nodes": [{"name": "main", "url": "http://127.0.0.1:9/", "user": "u",
                   "password": "rpc-password-xyz"}],
        "metrics": {"port": 0, **metrics},
        "state_dir": str(tmp_path / "state"),
    })


def test_daemon_default_metrics_listen_is_loopback_only(tmp_path):
    from hashwatch.daemon import Daemon

    daemon = Daemon(daemon_config(tmp_path), job_modules=(), alerts=False)
    try:
        assert daemon.server is not None and daemon.server.address == "127.0.0.1"
    finally:
        daemon.server._httpd.server_close()


def test_daemon_web_config_file_protects_metrics_end_to_end(tmp_path, tls):
    web = write(tmp_path, tls_yaml(tls) + f"basic_auth_users:\n  prometheus: '{HASH}'\n")
    from hashwatch.daemon import Daemon

    daemon = Daemon(daemon_config(tmp_path, web_config_file=str(web)), job_modules=(),
                    alerts=False)
    daemon.start()
    try:
        url = f"https://localhost:{daemon.server.port}/metrics"
        assert get(url, context=client_ctx(tls))[0] == 401
        status, _, body = get(url, context=client_ctx(tls), user="prometheus", password=PASSWORD)
    finally:
        daemon.stop()
    assert status == 200 and "# HELP hashwatch_" in body
