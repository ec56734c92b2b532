# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine connection: options, their DOCKER_* fallbacks, and a low-level Docker SDK client."""

from __future__ import annotations

import datetime
import os
import ssl
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

    class APIError(DockerException):  # type: ignore[no-redef, misc]
        pass

    class NotFound(APIError):  # type: ignore[no-redef, misc]
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
    "ConnectionFailed",
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


# the Docker SDK has no type information: its classes are Any to mypy
class ConnectionFailed(DockerException):  # type: ignore[misc]
    """The engine could not be reached; the message names the option that is wrong and what the engine expects."""


if docker is not None:

    class _Client(docker.APIClient):  # type: ignore[misc]
        """An APIClient that verifies against the CA it was given, whatever the environment says.

        requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE replace a session's ``verify`` on every request
        (``merge_environment_settings`` prefers the per-request value, which it takes from the environment
        when the call passes none). With ``ca_path`` (or ``tls`` without verification) the session's own
        setting is the one meant; only the system's CAs (``verify`` True) may come from the environment.
        Proxies and netrc from the environment stay as requests has them.
        """

        def merge_environment_settings(self, url: str, proxies: Any, stream: Any, verify: Any, cert: Any) -> Any:
            if verify is None and self.verify is not True:
                verify = self.verify
            return super().merge_environment_settings(url, proxies, stream, verify, cert)


def _cert_dates(path: str) -> tuple[Optional[datetime.datetime], Optional[datetime.datetime]]:
    """The validity period of a PEM certificate, when Python can read it (no key material is read)."""
    try:
        decoded = ssl._ssl._test_decode_cert(path)  # type: ignore[attr-defined]  # pylint: disable=protected-access
        parse = ssl.cert_time_to_seconds
        return (
            datetime.datetime.fromtimestamp(parse(decoded["notBefore"]), datetime.timezone.utc),
            datetime.datetime.fromtimestamp(parse(decoded["notAfter"]), datetime.timezone.utc),
        )
    except Exception:  # pylint: disable=broad-except  # any unreadable certificate: no dates
        return None, None


def _check_files(settings: dict[str, Any]) -> None:
    """Refuse options that cannot work before anything is sent, naming the option."""
    if not (settings["tls"] or settings["validate_certs"]):
        return
    cert, key = settings["client_cert"], settings["client_key"]
    if bool(cert) != bool(key):
        given, missing = ("client_cert", "client_key") if cert else ("client_key", "client_cert")
        raise ConnectionFailed(
            f"{given} is set but {missing} is not: a client certificate needs both its certificate and its key"
        )
    for option in ("ca_path", "client_cert", "client_key"):
        path = settings[option]
        if option == "ca_path" and not settings["validate_certs"]:
            continue
        if path and not os.path.isfile(path):
            raise ConnectionFailed(f"{option} {path} is not a file on the machine that runs the module")
    if cert:
        not_before, not_after = _cert_dates(cert)
        now = datetime.datetime.now(datetime.timezone.utc)
        if not_after is not None and not_after < now:
            raise ConnectionFailed(
                f"client_cert {cert} expired on {not_after:%Y-%m-%d %H:%M} UTC: the engine refuses it; "
                "give a current certificate signed by the CA the engine trusts (its --tlscacert)"
            )
        if not_before is not None and not_before > now:
            raise ConnectionFailed(f"client_cert {cert} is not valid before {not_before:%Y-%m-%d %H:%M} UTC")


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and everything it wraps (causes, contexts, urllib3's reasons, requests' arguments)."""
    seen: list[BaseException] = []
    todo = [exc]
    while todo:
        current = todo.pop()
        if current is None or any(current is known for known in seen) or len(seen) > 20:
            continue
        seen.append(current)
        wrapped = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        wrapped.extend(getattr(current, "args", ()))
        todo.extend(item for item in wrapped if isinstance(item, BaseException))
    return seen


def explain_connection_error(exc: BaseException, settings: dict[str, Any]) -> str:
    """What went wrong reaching the engine, in terms of the options (never key material, no traceback)."""
    host = settings["docker_host"]
    chain = _chain(exc)
    text = " | ".join(f"{type(item).__name__}: {item}" for item in chain)
    upper = text.upper()
    ca_path, cert, key = settings["ca_path"], settings["client_cert"], settings["client_key"]
    reason = str(exc)
    for item in chain:
        if isinstance(item, ssl.SSLError):
            reason = getattr(item, "verify_message", None) or getattr(item, "reason", None) or str(item)
            break
    if "KEY_VALUES_MISMATCH" in upper:
        return f"client_key {key} is not the key of client_cert {cert}"
    if "NO_CERTIFICATE_OR_CRL_FOUND" in upper or ("X509" in upper and "LOAD_VERIFY" in upper):
        return f"ca_path {ca_path} holds no PEM certificate"
    if "PEM LIB" in upper or "PEM_LIB" in upper:
        return f"client_cert {cert} or client_key {key} is not a PEM certificate and its key"
    if "CERTIFICATE_VERIFY_FAILED" in upper:
        if "MISMATCH" in upper or "DOESN'T MATCH" in upper:
            return (
                f"the engine's certificate is not valid for the name or address in docker_host {host} ({reason}): "
                "use the name or address the certificate was made for (its subjectAltName)"
            )
        if "EXPIRED" in upper:
            return f"the engine's TLS certificate has expired ({reason}); the engine needs a current certificate"
        if ca_path:
            return (
                f"the engine's TLS certificate is not signed by the CA in ca_path {ca_path} ({reason}): "
                "set ca_path to the CA certificate that signed the engine's certificate (the engine's --tlscert)"
            )
        return (
            f"the engine's TLS certificate is not trusted by the system's CAs ({reason}) and no ca_path was given: "
            "set ca_path to the CA certificate that signed the engine's certificate, or validate_certs: false with "
            "tls: true to connect without verifying it"
        )
    if any(
        marker in upper
        for marker in ("ALERT_BAD_CERTIFICATE", "CERTIFICATE_REQUIRED", "ALERT_UNKNOWN_CA", "ALERT_CERTIFICATE_UNKNOWN")
    ) or ("ALERT" in upper and "CERTIFICATE" in upper):
        if not cert:
            return (
                f"the engine requires a client certificate (it runs with --tlsverify) and none was given ({reason}): "
                "set client_cert and client_key to a certificate and key signed by the CA the engine trusts "
                "(its --tlscacert)"
            )
        return (
            f"the engine refused the client certificate in client_cert {cert} ({reason}): it must be signed by the "
            "CA the engine trusts (its --tlscacert), be current, and allow client authentication"
        )
    if "CLIENT SENT AN HTTP REQUEST TO AN HTTPS SERVER" in upper:
        return (
            f"the engine at docker_host {host} speaks TLS and the connection did not: set tls: true (or "
            "validate_certs: true with ca_path), and client_cert and client_key when the engine runs with --tlsverify"
        )
    if any(
        marker in upper
        for marker in (
            "WRONG_VERSION_NUMBER",
            "RECORD_LAYER_FAILURE",
            "PACKET_LENGTH_TOO_LONG",
            "UNKNOWN_PROTOCOL",
            "HTTP_REQUEST",
        )
    ):
        return (
            f"the engine at docker_host {host} does not speak TLS on that port ({reason}): set tls and "
            "validate_certs to false for a plain TCP engine, or use the engine's TLS port (usually 2376)"
        )
    if "NOT FOUND IN KNOWN_HOSTS" in upper:
        return (
            f"the SSH host key of docker_host {host} is not known ({reason}): add it to ~/.ssh/known_hosts of the "
            "user that runs the module, on the machine that runs it (for example with ssh-keyscan), before using it"
        )
    if "AUTHENTICATION FAILED" in upper or "AUTHENTICATIONEXCEPTION" in upper or "NO AUTHENTICATION METHODS" in upper:
        return (
            f"the SSH login for docker_host {host} was refused ({reason}): the Docker SDK logs in with the "
            "user in the URL and the keys of ~/.ssh/config's IdentityFile, ~/.ssh/id_* or the ssh agent"
        )
    if "DIAL-STDIO" in upper or ("SSH" in upper and "DOCKER: NOT FOUND" in upper):
        return f"the SSH host of docker_host {host} cannot run `docker system dial-stdio` ({reason}): it needs the docker CLI"
    if "CONNECTION REFUSED" in upper:
        return f"nothing answers at docker_host {host} (connection refused): no engine listens there"
    return reason


def _ssh_support_missing() -> Optional[str]:
    try:
        import paramiko  # noqa: F401  # pylint: disable=import-outside-toplevel,unused-import
    except ImportError:
        return (
            "docker_host ssh://... needs the Python package paramiko on the machine that runs the module (the "
            "Docker SDK's ssh:// support uses it): install it there, for example with `python3 -m pip install "
            "paramiko` or Debian's `python3-paramiko` package"
        )
    return None


def open_client(settings: dict[str, Any]) -> Any:
    """A low-level APIClient that answered; raises ConnectionFailed saying which option is wrong when it does not."""
    base_url = settings["docker_host"]
    if base_url.startswith("ssh://"):
        missing = _ssh_support_missing()
        if missing:
            raise ConnectionFailed(missing)
    _check_files(settings)
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
    if tls_config and base_url.startswith("tcp://"):
        base_url = "https://" + base_url[len("tcp://") :]
    client = None
    try:
        client = _Client(
            base_url=base_url,
            version=settings["api_version"],
            timeout=settings["timeout"],
            tls=tls_config,
        )
        if str(settings["api_version"]).lower() != "auto":
            # the SDK asks the engine nothing when the version is given: ask now, so that a wrong option is
            # reported here, with its name, and not as the first engine call's failure
            client.ping()
    except (
        Exception
    ) as exc:  # pylint: disable=broad-except  # the SDK's, requests', ssl's and paramiko's: all explained
        if client is not None:
            client.close()
        raise ConnectionFailed(explain_connection_error(exc, settings)) from exc
    return client
