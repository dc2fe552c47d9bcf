"""The page is served like /metrics: same port, same basic auth and TLS from the web config."""

from __future__ import annotations

import base64
import ssl
import urllib.error
import urllib.request

import bcrypt

from ..support.tls import make_tls_files
from ..support.waiting import wait_for
from .pagekit import start_daemon

PASSWORD = "correct horse battery staple"


def get(url: str, ctx: ssl.SSLContext, auth: tuple[str, str] | None = None):
    req = urllib.request.Request(url)
    if auth is not None:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        req.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(req, timeout=10, context=ctx) as resp:
            return resp.status, resp.headers, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read().decode()


def test_page_needs_the_password_and_is_served_over_tls(sim_factory, tmp_path):
    tls = make_tls_files(tmp_path / "tls")
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    web = tmp_path / "web.yml"
    web.write_text(f"tls_server_config:\n  cert_file: {tls.server_cert}\n"
                   f"  key_file: {tls.server_key}\nbasic_auth_users:\n  miner: '{hashed}'\n")
    sim = sim_factory(network="regtest", start_height=101)
    daemon = start_daemon(sim, tmp_path, alerts={"enabled": False},
                          metrics={"port": 0, "web_config_file": str(web)})
    ctx = ssl.create_default_context(cafile=str(tls.ca_cert))
    url = f"https://127.0.0.1:{daemon.server.port}/"
    try:
        status, headers, body = get(url, ctx)
        assert status == 401 and "hashwatch" in headers["WWW-Authenticate"].lower()
        assert "<html" not in body
        assert get(url, ctx, ("miner", "wrong"))[0] == 401

        def page() -> str | None:
            code, _, text = get(url, ctx, ("miner", PASSWORD))
            return text if code == 200 and 'data-key="blocks"' in text else None

        text = wait_for(page, what="the page over TLS with the password")
        assert "101 / 101" in text
        _, headers, _ = get(url, ctx, ("miner", PASSWORD))
        csp = headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "script-src" not in csp  # no script, ever
        assert headers["Cache-Control"] == "no-store"
        assert headers["X-Content-Type-Options"] == "nosniff"
        plain = ssl.create_default_context()  # without our CA the handshake must fail
        try:
            get(url, plain, ("miner", PASSWORD))
        except urllib.error.URLError as exc:
            assert isinstance(exc.reason, ssl.SSLCertVerificationError)
        else:
            raise AssertionError("served without a verifiable certificate")
    finally:
        daemon.stop()
