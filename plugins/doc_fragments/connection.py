# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The engine connection options every module of the polytope action group takes
    # (CONNECTION_ARGUMENT_SPEC in module_utils/_connection.py; the fallbacks are applied there too).
    DOCUMENTATION = r"""
options:
  docker_host:
    description:
      - The engine's address, for example V(unix:///var/run/docker.sock) or V(tcp://engine.example.com:2376).
      - V(ssh://user@host) reaches an engine over SSH through the Docker SDK, which needs the Python package
        C(paramiko) where the module runs and logs in with that user's C(~/.ssh) keys and known hosts.
      - Falls back to E(DOCKER_HOST), then the local socket.
    type: str
    aliases: [docker_url]
  tls:
    description: Connect with TLS without verifying the engine's certificate. Falls back to E(DOCKER_TLS).
    type: bool
  validate_certs:
    description: Connect with TLS and verify the engine's certificate. Falls back to E(DOCKER_TLS_VERIFY).
    type: bool
    aliases: [tls_verify]
  ca_path:
    description:
      - CA certificate to verify the engine with. Falls back to C(ca.pem) in E(DOCKER_CERT_PATH).
      - It is used whatever E(REQUESTS_CA_BUNDLE) or E(CURL_CA_BUNDLE) say; without it the engine is verified
        against the system's CAs (which those variables may name).
    type: path
    aliases: [ca_cert, tls_ca_cert, cacert_path]
  client_cert:
    description: Client certificate. Falls back to C(cert.pem) in E(DOCKER_CERT_PATH).
    type: path
    aliases: [tls_client_cert, cert_path]
  client_key:
    description: Client key; never logged. Falls back to C(key.pem) in E(DOCKER_CERT_PATH).
    type: path
    aliases: [tls_client_key, key_path]
  api_version:
    description: The Engine API version; V(auto) asks the engine. Falls back to E(DOCKER_API_VERSION).
    type: str
    aliases: [docker_api_version]
  timeout:
    description: Seconds an engine API call may take. Falls back to E(DOCKER_TIMEOUT), then V(60).
    type: int
"""
