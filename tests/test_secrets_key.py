"""Issue 20, the pseudonym key: strict outside the local stack, masked in Airflow logs,
identified by a fingerprint that never reveals it. No server (unit)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import date
from pathlib import Path

import pytest

from safetynet import config, pipeline
from safetynet.ingest import keyguard
from safetynet_dev.stack import env

pytestmark = pytest.mark.unit

STRONG = "3f1c9a0e7b5d4c2a8e6f0b1d3c5a7e9f2b4d6c8a0e1f3b5d"  # 48 bytes, made up for tests


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A deployment: SAFETYNET_ENVIRONMENT unset (the image does not set it)."""
    for name in (
        "SAFETYNET_ENVIRONMENT",
        "SAFETYNET_PSEUDONYM_KEY",
        "SAFETYNET_PSEUDONYM_KEY_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize(
    ("key", "check"),
    [
        (None, "pseudonym_key_missing"),
        ("", "pseudonym_key_missing"),
        ("local-development-key", "pseudonym_key_development"),
        ("sample-key", "pseudonym_key_development"),
        ("test-key", "pseudonym_key_development"),
        ("change-me", "pseudonym_key_development"),
        ("change-me-change-me-change-me-change-me", "pseudonym_key_development"),
        ("a" * 31, "pseudonym_key_short"),
        ("证" * 10, "pseudonym_key_short"),  # 30 bytes of UTF-8: bytes count, not characters
    ],
)
def test_a_deployment_refuses_a_missing_weak_or_public_key(
    production: pytest.MonkeyPatch, key: str | None, check: str
) -> None:
    if key is not None:
        production.setenv("SAFETYNET_PSEUDONYM_KEY", key)
    with pytest.raises(config.PseudonymKeyError) as error:
        config.pseudonym_key()
    assert error.value.check == check
    assert f"[{check}]" in str(error.value)
    if key:
        assert key not in str(error.value), "the error must never show the key"


def test_a_deployment_takes_a_strong_key_from_the_variable_or_a_secret_file(
    production: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert len(("证" * 11).encode()) == 33
    production.setenv("SAFETYNET_PSEUDONYM_KEY", "证" * 11)
    assert config.pseudonym_key() == "证" * 11
    production.delenv("SAFETYNET_PSEUDONYM_KEY")
    secret = tmp_path / "pseudonym_key"
    secret.write_text(STRONG + "\n")  # `openssl rand -hex 24 > file` ends with a newline
    production.setenv("SAFETYNET_PSEUDONYM_KEY_FILE", str(secret))
    assert config.pseudonym_key() == STRONG
    production.setenv("SAFETYNET_PSEUDONYM_KEY_FILE", str(tmp_path / "absent"))
    with pytest.raises(config.PseudonymKeyError) as error:
        config.pseudonym_key()
    assert error.value.check == "pseudonym_key_missing"


def test_unknown_environment_names_are_strict(production: pytest.MonkeyPatch) -> None:
    for name in ("production", "prod", "staging", "locale", ""):
        production.setenv("SAFETYNET_ENVIRONMENT", name)
        with pytest.raises(config.PseudonymKeyError):
            config.pseudonym_key()


def test_the_local_stack_keeps_the_contract_and_test_keys(
    production: pytest.MonkeyPatch,
) -> None:
    production.setenv("SAFETYNET_ENVIRONMENT", "local")
    assert config.pseudonym_key() == "local-development-key"
    for key in ("sample-key", "test-key", "k"):
        production.setenv("SAFETYNET_PSEUDONYM_KEY", key)
        assert config.pseudonym_key() == key


def test_make_env_and_the_tests_mark_the_local_stack() -> None:
    assert env.local_environment()["SAFETYNET_ENVIRONMENT"] == "local"
    assert config.is_local()  # conftest applied the exports


def test_a_worker_without_the_key_does_not_load(
    production: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The load task stops before it touches a file or the warehouse."""
    production.setenv("AIRFLOW_CONN_WAREHOUSE", "postgresql://nobody@127.0.0.1:1/none")
    production.setenv("SAFETYNET_LANDING_DIR", str(tmp_path))
    with pytest.raises(config.PseudonymKeyError, match=r"\[pseudonym_key_missing\]"):
        pipeline.load("bank", date(2026, 10, 1), "manual__x")


def test_the_fingerprint_is_an_hmac_of_a_constant_and_hides_the_key() -> None:
    expected = hmac.new(STRONG.encode(), keyguard.FINGERPRINT_MESSAGE, hashlib.sha256)
    assert keyguard.fingerprint(STRONG) == expected.hexdigest()
    assert keyguard.fingerprint(STRONG) != keyguard.fingerprint(STRONG + "x")
    assert STRONG not in keyguard.fingerprint(STRONG)


def test_the_key_is_masked_in_airflow_logs(production: pytest.MonkeyPatch) -> None:
    """Reading the key registers it with the Airflow 3 task SDK's secrets masker."""
    from airflow.sdk._shared.secrets_masker import redact

    key = "masked-" + secrets.token_hex(20)  # not one an earlier test registered
    production.setenv("SAFETYNET_PSEUDONYM_KEY", key)
    assert key in redact(f"key={key}")  # not yet known to the masker
    config.pseudonym_key()
    assert redact(f"key={key} done") == "key=*** done"
