"""TLS end to end with certificates made at test time: the collector serves HTTPS, agents
verify it by a CA and may present client certificates; wrong CA, expired certificate and
missing client certificate are refused; the certificate reloads on SIGHUP."""

from __future__ import annotations

import logging
import re
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from agent.report import SCHEMA_V1, ProbeResult, Report, Sample
from agent.spool import MemorySpool
from agent.transport import ReportSender, TransportSecurity
from tests.collector.process import ADMIN_PASSWORD, CollectorProcess, collector_process
from tests.peers.certs import Issued, TestCA
from tests.peers.connect_proxy import ConnectProxy

TOKEN = "tls-agent-token-5a6b"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("pki")
    ca, rogue, clients = TestCA(folder), TestCA(folder, "Rogue CA"), TestCA(folder, "Agent CA")
    return {
        "ca": ca.cert,
        "rogue": rogue.cert,
        "server": ca.issue("collector"),
        "expired": ca.issue("expired collector", expired=True),
        "agent": clients.issue("web-01", client=True),
        "stranger": rogue.issue("stranger", client=True),
        "clients": clients.cert,
        "issuer": ca,
    }


def tls_settings(server: Issued, client_ca: Path | None = None) -> str:
    extra = f", client_ca_file: {client_ca}" if client_ca else ""
    return (
        f"agents: [{{name: fleet, token: {TOKEN}}}]\n"
        f"tls: {{cert_file: {server.cert}, key_file: {server.key}{extra}}}\n"
    )


@pytest.fixture(scope="module")
def https(
    tmp_path_factory: pytest.TempPathFactory, pki: dict[str, Any]
) -> Iterator[CollectorProcess]:
    folder = tmp_path_factory.mktemp("https")
    server = pki["server"]
    # Copies, so the SIGHUP test can replace them without touching the other tests' files.
    cert, key = folder / "server.crt", folder / "server.key"
    cert.write_bytes(server.cert.read_bytes())
    key.write_bytes(server.key.read_bytes())
    with collector_process(folder, tls_settings(Issued(cert, key)), verify=str(pki["ca"])) as c:
        yield c


def report() -> Report:
    probe = ProbeResult("host", "ok", 0.001, samples=[Sample("memory_used_ratio", 0.5)])
    return Report(SCHEMA_V1, "web-01", time.time(), 1, "t", 10.0, [probe])


def send(url: str, **security: object) -> str:
    sender = ReportSender(
        url, TOKEN, MemorySpool(1 << 20), 5.0, security=TransportSecurity(**security)
    )  # type: ignore[arg-type]
    try:
        return sender.send(report())
    finally:
        sender.close()


def test_the_agent_reports_over_https_verified_by_its_ca(
    https: CollectorProcess, pki: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    assert send(https.url, ca_file=str(pki["ca"])) == "sent"
    caplog.set_level(logging.WARNING)
    assert send(https.url, ca_file=str(pki["rogue"])) == "spooled", "a collector it cannot verify"
    assert "CERTIFICATE_VERIFY_FAILED" in caplog.text
    assert send(https.url) == "spooled", "the system's CAs do not know a private CA"


def test_the_advice_fits_what_was_configured(
    https: CollectorProcess,
    pki: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.WARNING)
    rogue = pki["rogue"]
    send(https.url, ca_file=str(rogue))
    assert f"not issued by the CA in ca_file {rogue}; point ca_file at the CA that issued it" in (
        caplog.text
    )
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    send(https.url)
    assert "the system's CAs do not know its issuer; set ca_file to the collector's CA" in (
        caplog.text
    )
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(rogue))
    send(https.url)
    assert f"not issued by a CA in REQUESTS_CA_BUNDLE={rogue}; set ca_file" in caplog.text
    send(https.url.replace("https://", "http://"))
    assert "closed without an answer; does the collector expect https://?" in caplog.text
    assert all(len(r.getMessage()) < 400 for r in caplog.records), "no library error dumps"


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_an_expired_collector_certificate_is_refused(
    tmp_path: Path, pki: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    with collector_process(tmp_path, tls_settings(pki["expired"]), verify=False) as expired:
        assert send(expired.url, ca_file=str(pki["ca"])) == "spooled"
    assert (
        "not trusted (certificate has expired; CERTIFICATE_VERIFY_FAILED): renew it on the "
        "collector (tls.cert_file), or correct this host's clock"
    ) in caplog.text


def test_mutual_tls_needs_a_client_certificate_from_the_agents_ca(
    tmp_path: Path, pki: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    agent = pki["agent"]
    settings = tls_settings(pki["server"], pki["clients"])
    client = (str(agent.cert), str(agent.key))
    with collector_process(tmp_path, settings, verify=str(pki["ca"]), client=client) as mutual:
        ca = str(pki["ca"])
        assert send(mutual.url, ca_file=ca) == "spooled", "no client certificate"
        assert "requires client certificates, set client_cert_file and client_key_file" in (
            caplog.text
        )
        stranger = pki["stranger"]
        assert (
            send(mutual.url, ca_file=ca, client_cert_file=str(stranger.cert),
                 client_key_file=str(stranger.key)) == "spooled"
        ), "a client certificate from another CA"  # fmt: skip
        assert (
            f"client_cert_file {stranger.cert} must be issued by a CA in its tls.client_ca_file"
        ) in caplog.text
        assert (
            send(mutual.url, ca_file=ca, client_cert_file=str(agent.cert),
                 client_key_file=str(agent.key)) == "sent"
        )  # fmt: skip


def test_the_console_cookie_is_secure_over_tls(
    https: CollectorProcess, pki: dict[str, Any]
) -> None:
    browser = requests.Session()
    browser.trust_env = False  # REQUESTS_CA_BUNDLE would override the CA given here
    browser.verify = str(pki["ca"])
    form = browser.get(f"{https.url}/login", timeout=5)
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf
    signed = browser.post(
        f"{https.url}/login",
        data={"user": "admin", "password": ADMIN_PASSWORD, "csrf": csrf.group(1)},
        allow_redirects=False,
        timeout=5,
    )
    assert signed.status_code == 303
    cookie = signed.headers["set-cookie"]
    assert "wk_session=" in cookie and "Secure" in cookie and "HttpOnly" in cookie


def test_plain_http_to_another_machine_is_refused_before_any_packet() -> None:
    with pytest.raises(ValueError, match="plain http:// to another machine"):
        ReportSender("http://192.0.2.10:9810", TOKEN, MemorySpool(1 << 20))
    ReportSender("http://192.0.2.10:9810", TOKEN, MemorySpool(1 << 20),
                 security=TransportSecurity(insecure=True)).close()  # fmt: skip


def test_a_renewed_certificate_is_served_after_sighup(
    https: CollectorProcess, pki: dict[str, Any]
) -> None:
    served = served_certificate(https.port)
    folder = https.log.parent
    fresh = pki["issuer"].issue("collector renewed")
    (folder / "server.crt").write_bytes(fresh.cert.read_bytes())
    (folder / "server.key").write_bytes(fresh.key.read_bytes())
    https.reload()
    deadline = time.monotonic() + 10
    while served_certificate(https.port) == served and time.monotonic() < deadline:
        time.sleep(0.1)
    assert served_certificate(https.port) == ssl.PEM_cert_to_DER_cert(fresh.cert.read_text())
    assert send(https.url, ca_file=str(pki["ca"])) == "sent"


def served_certificate(port: int) -> bytes:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return der


def test_the_agent_reaches_an_https_collector_through_a_connect_proxy(
    https: CollectorProcess, pki: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = ConnectProxy()
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy.port}")
    try:
        assert send(https.url, ca_file=str(pki["ca"])) == "sent"
    finally:
        proxy.close()
    assert proxy.tunnels == [f"127.0.0.1:{https.port}"], "through the tunnel, TLS end to end"
