# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Service endpoints, URLs, and readiness probes against real sockets on 127.0.0.1."""

from __future__ import annotations

import http.server
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.polytope.core.plugins.module_utils import _services
from ansible_collections.polytope.core.plugins.module_utils._services import (
    Endpoint,
    _http_open,
    _tcp_open,
    endpoints,
    is_open,
    probe_target,
    published_host,
)
from ansible_collections.polytope.core.plugins.module_utils._spec import (
    PortSpec,
    parse_spec,
)

LOOPBACK = "127.0.0.1"
# An address that must never be contacted in a test (TEST-NET-1, RFC 5737).
UNUSED_ADDRESS = "192.0.2.1"


# --- local servers -----------------------------------------------------------------------------


class _Quiet(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


class _Error(_Quiet):
    status = 503


def _serve_http(handler: type, context: ssl.SSLContext | None = None) -> Iterator[int]:
    server = http.server.ThreadingHTTPServer((LOOPBACK, 0), handler)
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def http_port() -> Iterator[int]:
    yield from _serve_http(_Quiet)


@pytest.fixture
def http_error_port() -> Iterator[int]:
    yield from _serve_http(_Error)


@pytest.fixture
def https_port(tmp_path: Path) -> Iterator[int]:
    """An HTTPS server with a self-signed certificate (the probe must not verify it)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make a self-signed certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=not-this-host",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    yield from _serve_http(_Quiet, context)


class _TcpServer:
    """Accepts connections; `mode` decides what happens to each: close at once, stay silent, or greet."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((LOOPBACK, 0))
        self.listener.listen(8)
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.held: list[socket.socket] = []
        self.accepted = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                connection, _address = self.listener.accept()
            except socket.timeout:  # noqa: UP041 - not TimeoutError on Python 3.9
                continue
            except OSError:
                return
            self.accepted += 1
            if self.mode == "close":
                connection.close()
            elif self.mode == "greet":
                connection.sendall(b"220 hello\r\n")
                self.held.append(connection)
            else:
                self.held.append(connection)

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(5)
        for connection in self.held:
            connection.close()
        self.listener.close()


@pytest.fixture
def closing_port() -> Iterator[int]:
    server = _TcpServer("close")
    yield server.port
    assert server.accepted >= 1, "the probe never connected"
    server.close()


@pytest.fixture
def silent_port() -> Iterator[int]:
    server = _TcpServer("silent")
    yield server.port
    assert server.accepted >= 1, "the probe never connected"
    server.close()


@pytest.fixture
def greeting_port() -> Iterator[int]:
    server = _TcpServer("greet")
    yield server.port
    server.close()


@pytest.fixture
def closed_port() -> int:
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.bind((LOOPBACK, 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there any more
    return port


@pytest.fixture
def short_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_services, "PROBE_TIMEOUT", 0.5)


def endpoint(
    protocol: str,
    port: int,
    host: str | None = LOOPBACK,
    host_port: int | None = None,
    internal: bool = False,
) -> Endpoint:
    return Endpoint("svc", 1, PortSpec(port, protocol, port, None, internal), host, host_port)


# --- tcp probe ---------------------------------------------------------------------------------


def test_tcp_server_that_stays_silent_is_open(silent_port: int) -> None:
    assert _tcp_open((LOOPBACK, silent_port)) is True


def test_tcp_server_that_closes_at_once_is_not_open(closing_port: int) -> None:
    assert _tcp_open((LOOPBACK, closing_port)) is False


def test_tcp_server_that_greets_is_open(greeting_port: int) -> None:
    assert _tcp_open((LOOPBACK, greeting_port)) is True


def test_tcp_closed_port_is_not_open(closed_port: int) -> None:
    assert _tcp_open((LOOPBACK, closed_port)) is False


def test_tcp_probe_of_http_server_is_open(http_port: int) -> None:
    # an HTTP server waits for the request: a silent peer that keeps the connection
    assert _tcp_open((LOOPBACK, http_port)) is True


def test_tcp_probe_is_quick_for_silent_peer(silent_port: int) -> None:
    started = time.monotonic()
    assert _tcp_open((LOOPBACK, silent_port))
    assert time.monotonic() - started < _services.PROBE_TIMEOUT


# --- http probe --------------------------------------------------------------------------------


def test_http_server_answering_is_open(http_port: int) -> None:
    assert _http_open((LOOPBACK, http_port), secure=False) is True


def test_http_error_response_is_open(http_error_port: int) -> None:
    # any HTTP response counts, 503 included
    assert _http_open((LOOPBACK, http_error_port), secure=False) is True


def test_http_closed_port_is_not_open(closed_port: int) -> None:
    assert _http_open((LOOPBACK, closed_port), secure=False) is False


def test_http_peer_closing_at_once_is_not_open(closing_port: int) -> None:
    assert _http_open((LOOPBACK, closing_port), secure=False) is False


def test_http_silent_peer_is_not_open(silent_port: int, short_timeout: None) -> None:
    started = time.monotonic()
    assert _http_open((LOOPBACK, silent_port), secure=False) is False
    assert time.monotonic() - started < 3


def test_https_self_signed_is_open(https_port: int) -> None:
    assert _http_open((LOOPBACK, https_port), secure=True) is True
    assert is_open(endpoint("https", https_port), LOOPBACK, True) is True


def test_https_against_plain_http_is_not_open(http_port: int) -> None:
    assert _http_open((LOOPBACK, http_port), secure=True) is False


def test_https_closed_port_is_not_open(closed_port: int) -> None:
    assert _http_open((LOOPBACK, closed_port), secure=True) is False


# --- is_open ---------------------------------------------------------------------------------------


def test_is_open_http_on_local_engine_probes_container_address(http_port: int) -> None:
    # local engine: the replica's own address and container port; the published one is never used
    target = endpoint("http", http_port, host=UNUSED_ADDRESS, host_port=1)
    assert is_open(target, LOOPBACK, local_engine=True) is True


def test_is_open_http_on_remote_engine_probes_published_port(http_port: int) -> None:
    target = endpoint("http", 80, host=LOOPBACK, host_port=http_port)
    assert is_open(target, UNUSED_ADDRESS, local_engine=False) is True


def test_is_open_tcp(silent_port: int, closing_port: int, closed_port: int) -> None:
    assert is_open(endpoint("tcp", silent_port), LOOPBACK, True) is True
    assert is_open(endpoint("tcp", closing_port), LOOPBACK, True) is False
    assert is_open(endpoint("tcp", closed_port), LOOPBACK, True) is False


def test_is_open_http_closed(closed_port: int) -> None:
    assert is_open(endpoint("http", closed_port), LOOPBACK, True) is False
    assert is_open(endpoint("https", closed_port), LOOPBACK, True) is False


def test_is_open_udp_is_open_without_probing(closed_port: int) -> None:
    assert is_open(endpoint("udp", closed_port), LOOPBACK, True) is True
    assert is_open(endpoint("udp", closed_port, host=UNUSED_ADDRESS, host_port=9), None, False) is True


def test_is_open_unreachable_counts_as_open() -> None:
    # internal port on a remote engine: nothing to probe from here
    internal = endpoint("tcp", 9000, host=None, host_port=None, internal=True)
    assert is_open(internal, UNUSED_ADDRESS, local_engine=False) is True


# --- probe_target --------------------------------------------------------------------------------


def test_probe_target() -> None:
    published = Endpoint("web", 1, PortSpec(80, "http", 8080), "localhost", 8080)
    assert probe_target(published, "172.18.0.5", True) == ("172.18.0.5", 80)
    assert probe_target(published, None, True) == ("localhost", 8080)
    assert probe_target(published, "172.18.0.5", False) == ("localhost", 8080)
    internal = Endpoint("web", 1, PortSpec(80, "http", 80, None, True), None, None)
    assert probe_target(internal, "172.18.0.5", True) == ("172.18.0.5", 80)
    assert probe_target(internal, "172.18.0.5", False) is None
    unpublished = Endpoint("web", 2, PortSpec(80, "http", 80), "localhost", None)
    assert probe_target(unpublished, None, False) is None


# --- endpoints and URLs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "publish_address, engine_host, expected",
    [
        ("0.0.0.0", None, "localhost"),
        ("0.0.0.0", "docker.example.com", "docker.example.com"),
        ("::", None, "localhost"),
        ("::", "10.0.0.5", "10.0.0.5"),
        ("", None, "localhost"),
        ("127.0.0.1", "docker.example.com", "127.0.0.1"),
        ("192.168.1.10", None, "192.168.1.10"),
    ],
)
def test_published_host(publish_address: str, engine_host: str | None, expected: str) -> None:
    assert published_host(publish_address, engine_host) == expected


SPEC = parse_spec(
    {
        "image": "nginx",
        "id": "web",
        "services": [
            {
                "id": "api",
                "ports": [
                    {"port": 8080, "protocol": "http", "expose_as": 18080},
                    {"port": 8443, "protocol": "https"},
                    {
                        "port": 9000,
                        "protocol": "tcp",
                        "label": "grpc",
                        "internal": True,
                    },
                    {"port": 53, "protocol": "udp"},
                ],
            },
            {"id": "db", "ports": [{"port": 5432, "protocol": "tcp"}]},
        ],
    }
)

INSPECT = {
    "NetworkSettings": {
        "Ports": {
            "8080/tcp": [
                {"HostIp": "0.0.0.0", "HostPort": "18080"},
                {"HostIp": "::", "HostPort": "18080"},
            ],
            "8443/tcp": [
                {"HostIp": "", "HostPort": ""},
                {"HostIp": "0.0.0.0", "HostPort": "32770"},
            ],
            "9000/tcp": None,
            "53/udp": [{"HostIp": "0.0.0.0", "HostPort": "32771"}],
            # 5432/tcp missing: not published (yet)
        }
    }
}


def test_endpoints() -> None:
    result = [e.as_result() for e in endpoints(SPEC, 1, INSPECT, "0.0.0.0", None)]
    assert result == [
        {
            "id": "api",
            "replica": 1,
            "port": 8080,
            "protocol": "http",
            "label": None,
            "internal": False,
            "host": "localhost",
            "host_port": 18080,
            "url": "http://localhost:18080/",
        },
        {
            "id": "api",
            "replica": 1,
            "port": 8443,
            "protocol": "https",
            "label": None,
            "internal": False,
            "host": "localhost",
            "host_port": 32770,
            "url": "https://localhost:32770/",
        },
        {
            "id": "api",
            "replica": 1,
            "port": 9000,
            "protocol": "tcp",
            "label": "grpc",
            "internal": True,
            "host": None,
            "host_port": None,
            "url": "tcp://api:9000",
        },
        {
            "id": "api",
            "replica": 1,
            "port": 53,
            "protocol": "udp",
            "label": None,
            "internal": False,
            "host": "localhost",
            "host_port": 32771,
            "url": "udp://localhost:32771",
        },
        {
            "id": "db",
            "replica": 1,
            "port": 5432,
            "protocol": "tcp",
            "label": None,
            "internal": False,
            "host": "localhost",
            "host_port": None,
            "url": "tcp://localhost:5432",
        },
    ]


def test_endpoints_remote_engine_and_replica() -> None:
    result = endpoints(SPEC, 3, INSPECT, "0.0.0.0", "docker.example.com")
    assert [e.replica for e in result] == [3] * 5
    assert result[0].url == "http://docker.example.com:18080/"
    assert result[2].url == "tcp://api:9000"


def test_endpoints_publish_address_ipv6() -> None:
    result = endpoints(SPEC, 1, INSPECT, "::1", None)
    assert result[0].host == "::1"
    assert result[0].url == "http://[::1]:18080/"


def test_endpoints_without_network_settings() -> None:
    result = endpoints(SPEC, 1, {}, "127.0.0.1", None)
    assert [(e.host, e.host_port) for e in result] == [
        ("127.0.0.1", None),
        ("127.0.0.1", None),
        (None, None),
        ("127.0.0.1", None),
        ("127.0.0.1", None),
    ]
    assert endpoints(parse_spec({"image": "nginx"}), 1, INSPECT, "0.0.0.0", None) == []
