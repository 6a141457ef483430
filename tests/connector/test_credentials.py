"""The five pasted values: validation, masking, and reading them from a file."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from connector import Credentials
from connector.errors import InvalidCredentials, InvalidGatewayURL

SECRET = "cs-7f3a9c1e5b2d4a6f8e0c"
ACCESS = "at-Q1w2E3r4T5y6U7i8O9p0A1s2D3f4G5"
REFRESH = "rt-Z9x8C7v6B5n4M3l2K1j0H9g8F7d6S5"

VALUES = {
    "gateway_url": "https://apigw-prod2.central.arubanetworks.com",
    "client_id": "connector-tests-client",
    "client_secret": SECRET,
    "access_token": ACCESS,
    "refresh_token": REFRESH,
}


def write(path: Path, document: Any) -> Path:
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return path


def assert_no_secret(text: str) -> None:
    for secret in (SECRET, ACCESS, REFRESH):
        assert secret not in text


def test_secrets_are_masked_in_repr_and_str() -> None:
    creds = Credentials(**VALUES)

    assert_no_secret(repr(creds))
    assert_no_secret(str(creds))
    assert "**********" in repr(creds)
    assert creds.client_secret.get_secret_value() == SECRET


def test_the_gateway_url_is_normalised_and_the_host_exposed() -> None:
    creds = Credentials(
        **{**VALUES, "gateway_url": "HTTPS://APIGW-PROD2.central.arubanetworks.com"}
    )

    assert creds.gateway_url == "https://apigw-prod2.central.arubanetworks.com"
    assert creds.host == "apigw-prod2.central.arubanetworks.com"


def test_a_bad_gateway_url_raises_the_gateway_error_itself() -> None:
    with pytest.raises(InvalidGatewayURL, match="must use https"):
        Credentials(
            **{**VALUES, "gateway_url": "http://apigw-prod2.central.arubanetworks.com"}
        )


@pytest.mark.parametrize("field", ["client_secret", "access_token", "refresh_token"])
def test_an_empty_secret_is_refused_without_echoing_anything(field: str) -> None:
    with pytest.raises(InvalidCredentials, match=field) as caught:
        Credentials(**{**VALUES, field: "  "})

    assert_no_secret(str(caught.value))


@pytest.mark.parametrize("field", ["client_secret", "access_token", "refresh_token"])
def test_a_secret_of_the_wrong_type_is_refused_without_echoing_it(field: str) -> None:
    with pytest.raises(InvalidCredentials, match=field) as caught:
        Credentials(**{**VALUES, field: 1234567890987654321})

    assert "1234567890987654321" not in str(caught.value)


def test_a_missing_value_is_named() -> None:
    values = {k: v for k, v in VALUES.items() if k != "refresh_token"}

    with pytest.raises(InvalidCredentials, match="'refresh_token' is missing"):
        Credentials(**values)


def test_credential_errors_are_value_errors() -> None:
    with pytest.raises(ValueError, match="client_id"):
        Credentials(**{**VALUES, "client_id": ""})


def test_the_pasted_fingerprint_is_stable_and_not_the_token() -> None:
    first = Credentials(**VALUES).pasted_fingerprint
    again = Credentials(**VALUES).pasted_fingerprint
    other = Credentials(**{**VALUES, "refresh_token": REFRESH + "x"}).pasted_fingerprint

    assert first == again != other
    assert REFRESH not in first


# --- from_file -------------------------------------------------------------------


def test_from_file_reads_the_five_keys(tmp_path: Path) -> None:
    path = write(tmp_path / "central.json", VALUES)

    creds = Credentials.from_file(path)

    assert creds.client_id == VALUES["client_id"]
    assert creds.refresh_token.get_secret_value() == REFRESH


def test_from_file_names_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.json"

    with pytest.raises(InvalidCredentials, match="does not exist") as caught:
        Credentials.from_file(path)

    assert str(path) in str(caught.value)


def test_from_file_names_the_position_of_malformed_json(tmp_path: Path) -> None:
    text = json.dumps(VALUES)[:-1] + f', "note": "{SECRET}"'
    path = write(tmp_path / "central.json", text)

    with pytest.raises(InvalidCredentials, match="not valid JSON") as caught:
        Credentials.from_file(path)

    assert str(path) in str(caught.value)
    assert "line 1" in str(caught.value)
    assert_no_secret(str(caught.value))
    assert caught.value.__cause__ is None


def test_from_file_names_a_missing_key(tmp_path: Path) -> None:
    values = {k: v for k, v in VALUES.items() if k != "client_secret"}
    path = write(tmp_path / "central.json", values)

    with pytest.raises(
        InvalidCredentials, match="has no key 'client_secret'"
    ) as caught:
        Credentials.from_file(path)

    assert str(path) in str(caught.value)


def test_from_file_names_an_extra_key_but_not_its_value(tmp_path: Path) -> None:
    path = write(tmp_path / "central.json", {**VALUES, "password": "pw-123456789"})

    with pytest.raises(InvalidCredentials, match="unexpected key 'password'") as caught:
        Credentials.from_file(path)

    assert "pw-123456789" not in str(caught.value)
    assert_no_secret(str(caught.value))


def test_from_file_refuses_a_value_that_is_not_a_string(tmp_path: Path) -> None:
    path = write(tmp_path / "central.json", {**VALUES, "access_token": ["x"]})

    with pytest.raises(InvalidCredentials, match="'access_token' must be a string"):
        Credentials.from_file(path)


def test_from_file_refuses_a_document_that_is_not_an_object(tmp_path: Path) -> None:
    path = write(tmp_path / "central.json", [VALUES])

    with pytest.raises(InvalidCredentials, match="must hold a JSON object"):
        Credentials.from_file(path)


def test_from_file_names_the_file_when_the_gateway_url_is_bad(tmp_path: Path) -> None:
    path = write(
        tmp_path / "central.json", {**VALUES, "gateway_url": "https://evil.test"}
    )

    with pytest.raises(InvalidGatewayURL, match="not a Central API gateway") as caught:
        Credentials.from_file(path)

    assert str(path) in str(caught.value)
    assert "API Gateway page" in str(caught.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_from_file_explains_an_unreadable_file(tmp_path: Path) -> None:
    path = write(tmp_path / "central.json", VALUES)
    path.chmod(0)

    with pytest.raises(InvalidCredentials, match="cannot be read"):
        Credentials.from_file(path)


def test_from_file_explains_a_directory(tmp_path: Path) -> None:
    with pytest.raises(InvalidCredentials, match="cannot be read"):
        Credentials.from_file(tmp_path)


def test_from_file_reads_what_the_fake_writes_for_its_demo() -> None:
    from fake_central import FakeCentral

    demo = FakeCentral().demo(seed=0)

    assert set(demo) == set(Credentials.FIELDS)
    assert Credentials(**demo).client_id == demo["client_id"]
