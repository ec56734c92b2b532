# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Engine connection settings (DOCKER_* fallbacks) and local/remote engine detection; no engine needed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ansible_collections.polytope.core.plugins.module_utils._connection import (
    CONNECTION_ARGUMENT_SPEC,
    DEFAULT_DOCKER_HOST,
    MISSING_SDK_MESSAGE,
    connection_settings,
    engine_address,
    is_local_engine,
)

DOCKER_VARIABLES = (
    "DOCKER_HOST",
    "DOCKER_API_VERSION",
    "DOCKER_TIMEOUT",
    "DOCKER_TLS",
    "DOCKER_TLS_VERIFY",
    "DOCKER_CERT_PATH",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in DOCKER_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_defaults_without_environment() -> None:
    assert connection_settings({}) == {
        "docker_host": DEFAULT_DOCKER_HOST,
        "tls": False,
        "validate_certs": False,
        "ca_path": None,
        "client_cert": None,
        "client_key": None,
        "api_version": "auto",
        "timeout": 60,
    }
    assert DEFAULT_DOCKER_HOST == "unix:///var/run/docker.sock"


def test_settings_keys_follow_argument_spec() -> None:
    assert set(connection_settings({})) == set(CONNECTION_ARGUMENT_SPEC)
    assert CONNECTION_ARGUMENT_SPEC["client_key"]["no_log"] is True


def test_environment_fallbacks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://docker.example.com:2376")
    monkeypatch.setenv("DOCKER_API_VERSION", "1.41")
    monkeypatch.setenv("DOCKER_TIMEOUT", "30")
    monkeypatch.setenv("DOCKER_TLS", "1")
    monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")
    settings = connection_settings({})
    assert settings["docker_host"] == "tcp://docker.example.com:2376"
    assert settings["api_version"] == "1.41"
    assert settings["timeout"] == 30
    assert settings["tls"] is True
    assert settings["validate_certs"] is True


def test_parameters_win_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://from-env:2375")
    monkeypatch.setenv("DOCKER_API_VERSION", "1.41")
    monkeypatch.setenv("DOCKER_TIMEOUT", "30")
    monkeypatch.setenv("DOCKER_TLS", "1")
    monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")
    settings = connection_settings(
        {
            "docker_host": "unix:///run/user/1000/docker.sock",
            "api_version": "1.43",
            "timeout": 5,
            "tls": False,
            "validate_certs": False,
        }
    )
    assert settings["docker_host"] == "unix:///run/user/1000/docker.sock"
    assert settings["api_version"] == "1.43"
    assert settings["timeout"] == 5
    assert settings["tls"] is False
    assert settings["validate_certs"] is False


@pytest.mark.parametrize(
    "value, expected",
    [
        ("1", True),
        ("true", True),
        ("yes", True),
        ("TRUE", True),
        ("0", False),
        ("false", False),
        ("No", False),
        ("off", False),
        ("", False),
    ],
)
def test_tls_verify_environment_values(monkeypatch: pytest.MonkeyPatch, value: str, expected: bool) -> None:
    monkeypatch.setenv("DOCKER_TLS_VERIFY", value)
    monkeypatch.setenv("DOCKER_TLS", value)
    settings = connection_settings({})
    assert settings["validate_certs"] is expected
    assert settings["tls"] is expected


def test_empty_environment_values_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "")
    monkeypatch.setenv("DOCKER_API_VERSION", "")
    monkeypatch.setenv("DOCKER_TIMEOUT", "")
    settings = connection_settings({})
    assert (settings["docker_host"], settings["api_version"], settings["timeout"]) == (
        DEFAULT_DOCKER_HOST,
        "auto",
        60,
    )


def test_cert_path_fills_existing_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("ca")
    (tmp_path / "cert.pem").write_text("cert")
    # no key.pem: it stays unset
    monkeypatch.setenv("DOCKER_CERT_PATH", str(tmp_path))
    settings = connection_settings({})
    assert settings["ca_path"] == str(tmp_path / "ca.pem")
    assert settings["client_cert"] == str(tmp_path / "cert.pem")
    assert settings["client_key"] is None


def test_cert_path_does_not_override_parameters(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (tmp_path / name).write_text(name)
    monkeypatch.setenv("DOCKER_CERT_PATH", str(tmp_path))
    settings = connection_settings({"ca_path": "/etc/my/ca.pem", "client_key": "/etc/my/key.pem"})
    assert settings["ca_path"] == "/etc/my/ca.pem"
    assert settings["client_cert"] == str(tmp_path / "cert.pem")
    assert settings["client_key"] == "/etc/my/key.pem"


def test_params_are_not_mutated() -> None:
    params: dict[str, Any] = {"docker_host": None, "timeout": None}
    connection_settings(params)
    assert params == {"docker_host": None, "timeout": None}


@pytest.mark.parametrize(
    "docker_host, address",
    [
        ("unix:///var/run/docker.sock", None),
        ("unix://", None),
        ("npipe:////./pipe/docker_engine", None),
        ("tcp://docker.example.com:2376", "docker.example.com"),
        ("tcp://DOCKER.Example.com:2376", "docker.example.com"),
        ("tcp://10.0.0.5:2375", "10.0.0.5"),
        ("https://10.0.0.5:2376", "10.0.0.5"),
        ("http://127.0.0.1:2375", "127.0.0.1"),
        ("tcp://[::1]:2375", "::1"),
        ("tcp://[fd00::5]:2375", "fd00::5"),
    ],
)
def test_engine_address(docker_host: str, address: str | None) -> None:
    assert engine_address(docker_host) == address


@pytest.mark.parametrize(
    "docker_host, local",
    [
        ("unix:///var/run/docker.sock", True),
        ("npipe:////./pipe/docker_engine", True),
        ("tcp://localhost:2375", True),
        ("tcp://127.0.0.1:2375", True),
        ("tcp://127.1.2.3:2375", True),
        ("tcp://[::1]:2375", True),
        ("https://localhost:2376", True),
        ("tcp://docker.example.com:2376", False),
        ("tcp://10.0.0.5:2375", False),
        ("tcp://[fd00::5]:2375", False),
        ("tcp://192.168.1.127:2375", False),
    ],
)
def test_is_local_engine(docker_host: str, local: bool) -> None:
    assert is_local_engine(docker_host) is local


def test_ssh_engine_is_remote() -> None:
    assert engine_address("ssh://deploy@docker.example.com") == "docker.example.com"
    assert is_local_engine("ssh://deploy@docker.example.com") is False


def test_missing_sdk_message_says_what_to_install() -> None:
    assert "pip install docker" in MISSING_SDK_MESSAGE
    assert "python3-docker" in MISSING_SDK_MESSAGE
