# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine connection: options, their DOCKER_* fallbacks, and a low-level Docker SDK client."""

from __future__ import annotations

import os
import traceback
from typing import Any, Optional
from urllib.parse import urlparse

try:
    import docker
    from docker.errors import APIError, DockerException, NotFound
    from docker.tls import TLSConfig
    from requests.exceptions import ConnectionError as ConnectionLost

    DOCKER_IMPORT_ERROR: Optional[str] = None
except ImportError:  # pragma: no cover - exercised on hosts without the SDK
    docker = None
    DOCKER_IMPORT_ERROR = traceback.format_exc()

    class DockerException(Exception):  # type: ignore[no-redef]
        pass

    class APIError(DockerException):  # type: ignore[no-redef]
        pass

    class NotFound(APIError):  # type: ignore[no-redef]
        pass

    class ConnectionLost(OSError):  # type: ignore[no-redef]
        pass


__all__ = [
    "APIError",
    "ConnectionLost",
    "DockerException",
    "NotFound",
    "DOCKER_IMPORT_ERROR",
    "MISSING_SDK_MESSAGE",
    "CONNECTION_ARGUMENT_SPEC",
    "connection_settings",
    "engine_address",
    "is_local_engine",
    "open_client",
]

MISSING_SDK_MESSAGE = (
    "The Docker SDK for Python is not installed on the machine that runs this module "
    "(the target host). Install it there, for example with `python3 -m pip install docker` "
    "or Debian's `python3-docker` package, or point ansible_python_interpreter at a Python that has it."
)

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"

CONNECTION_ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    "docker_host": {"type": "str", "aliases": ["docker_url"]},
    "tls": {"type": "bool"},
    "validate_certs": {"type": "bool", "aliases": ["tls_verify"]},
    "ca_path": {"type": "path", "aliases": ["ca_cert", "tls_ca_cert", "cacert_path"]},
    "client_cert": {"type": "path", "aliases": ["tls_client_cert", "cert_path"]},
    "client_key": {"type": "path", "aliases": ["tls_client_key", "key_path"], "no_log": True},
    "api_version": {"type": "str", "aliases": ["docker_api_version"]},
    "timeout": {"type": "int"},
}

_ENV_FALLBACKS = {
    "docker_host": "DOCKER_HOST",
    "api_version": "DOCKER_API_VERSION",
    "timeout": "DOCKER_TIMEOUT",
}


def _env_bool(name: str) -> Optional[bool]:
    value = os.environ.get(name)
    if value is None or value == "":
        return None
    return value.lower() not in ("0", "false", "no", "off")


def connection_settings(params: dict[str, Any]) -> dict[str, Any]:
    """Module options with the usual DOCKER_* environment fallbacks applied."""
    settings = {key: params.get(key) for key in CONNECTION_ARGUMENT_SPEC}
    for key, env_name in _ENV_FALLBACKS.items():
        if settings[key] is None and os.environ.get(env_name):
            settings[key] = os.environ[env_name]
    if settings["validate_certs"] is None:
        settings["validate_certs"] = bool(_env_bool("DOCKER_TLS_VERIFY"))
    if settings["tls"] is None:
        settings["tls"] = bool(_env_bool("DOCKER_TLS"))
    cert_dir = os.environ.get("DOCKER_CERT_PATH")
    if cert_dir:
        for key, file_name in (("ca_path", "ca.pem"), ("client_cert", "cert.pem"), ("client_key", "key.pem")):
            candidate = os.path.join(cert_dir, file_name)
            if settings[key] is None and os.path.exists(candidate):
                settings[key] = candidate
    settings["docker_host"] = settings["docker_host"] or DEFAULT_DOCKER_HOST
    settings["api_version"] = settings["api_version"] or "auto"
    settings["timeout"] = int(settings["timeout"] or 60)
    return settings


def engine_address(docker_host: str) -> Optional[str]:
    """The engine's host name for a TCP engine, None for a local socket."""
    parsed = urlparse(docker_host)
    if parsed.scheme in ("tcp", "http", "https", "ssh"):
        return parsed.hostname
    return None


def is_local_engine(docker_host: str) -> bool:
    """True when containers' own addresses are reachable from here (a socket or a loopback TCP engine)."""
    address = engine_address(docker_host)
    return address is None or address in ("localhost", "::1") or address.startswith("127.")


def open_client(settings: dict[str, Any]) -> Any:
    """A low-level APIClient; raises DockerException with the engine's reason when it does not answer."""
    tls_config: Any = False
    if settings["tls"] or settings["validate_certs"]:
        client_cert = None
        if settings["client_cert"] or settings["client_key"]:
            client_cert = (settings["client_cert"], settings["client_key"])
        tls_config = TLSConfig(
            client_cert=client_cert,
            ca_cert=settings["ca_path"] if settings["validate_certs"] else None,
            verify=bool(settings["validate_certs"]),
        )
    base_url = settings["docker_host"]
    if tls_config and base_url.startswith("tcp://"):
        base_url = "https://" + base_url[len("tcp://") :]
    return docker.APIClient(
        base_url=base_url,
        version=settings["api_version"],
        timeout=settings["timeout"],
        tls=tls_config,
    )
