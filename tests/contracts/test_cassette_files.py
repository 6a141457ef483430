"""Every cassette on disk: held to the contract, free of credentials, and compared.

* Each recorded response passes the same schemathesis checks the provider run uses:
  documented status, content type, headers (rate limits) and body schema.
* No cassette holds a credential: sensitive fields must carry placeholders, and no
  string may look like an opaque token (``contract_scrubbing.find_leaks``).
* Where a scenario was recorded against both the fake and the real Central, the two
  must agree in shape: the same body fields with the same JSON types, and the same
  rate-limit and challenge headers. A difference is drift between the fake and
  Central, named field by field.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
import schemathesis
import yaml
from contract_schema import CONTRACT_PATH
from contract_scrubbing import Scrubber, find_leaks, query_without_secrets
from schemathesis.core.transport import Response

HERE = Path(__file__).parent
CASSETTES = HERE / "cassettes"
LIVE = CASSETTES / "live"
ALL_CASSETTES = sorted(CASSETTES.rglob("*.yaml"))
PAIRED = sorted(
    path
    for path in LIVE.rglob("*.yaml")
    if (CASSETTES / path.relative_to(LIVE)).exists()
)

schema = schemathesis.openapi.from_path(CONTRACT_PATH)
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_headers_conformance,
    schemathesis.checks.response_schema_conformance,
]
COMPARED_HEADERS = frozenset(
    {
        "content-type",
        "www-authenticate",
        "x-ratelimit-limit-day",
        "x-ratelimit-remaining-day",
        "x-ratelimit-limit-second",
        "x-ratelimit-remaining-second",
    }
)


def _id(path: Path) -> str:
    return str(path.relative_to(CASSETTES))


def _interactions(path: Path) -> list[dict[str, Any]]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    interactions: list[dict[str, Any]] = document["interactions"]
    return interactions


def _body_bytes(response: dict[str, Any]) -> bytes:
    body = response.get("body", {}).get("string", b"")
    return body if isinstance(body, bytes) else str(body).encode()


def _as_checked(interaction: dict[str, Any]) -> tuple[Any, Response]:
    """The contract's case for the recorded request, and the recorded response."""
    request, response = interaction["request"], interaction["response"]
    method, uri = request["method"].upper(), request["uri"]
    parts = urlsplit(uri)
    case = schema[parts.path][method].Case(query=dict(parse_qsl(parts.query)))
    prepared = requests.Request(method, uri).prepare()
    headers = {
        name.lower(): [str(value) for value in values]
        for name, values in response["headers"].items()
    }
    recorded = Response(
        status_code=response["status"]["code"],
        headers=headers,
        content=_body_bytes(response),
        request=prepared,
        elapsed=0.0,
        verify=True,
    )
    return case, recorded


@pytest.mark.parametrize("cassette", ALL_CASSETTES, ids=_id)
def test_every_recorded_response_honours_the_contract(cassette: Path) -> None:
    interactions = _interactions(cassette)

    for interaction in interactions:
        case, recorded = _as_checked(interaction)
        case.validate_response(recorded, checks=CHECKS)

    assert interactions, f"{_id(cassette)} records nothing"


@pytest.mark.parametrize("cassette", ALL_CASSETTES, ids=_id)
def test_no_cassette_holds_a_credential(cassette: Path) -> None:
    leaks = find_leaks(cassette.read_text(encoding="utf-8"))

    assert leaks == [], f"{_id(cassette)}:\n" + "\n".join(leaks)


def test_the_fake_scenarios_are_all_recorded() -> None:
    recorded = {path.stem for path in (CASSETTES / "test_recorded_traffic").glob("*")}

    assert {
        "test_a_refresh_rotates_the_pair_and_the_next_call_carries_it",
        "test_a_paginated_sync_reads_every_page_of_every_list",
        "test_a_401_leads_to_one_refresh_and_a_replay",
        "test_a_403_raises_permission_denied_without_a_refresh",
        "test_a_429_is_backed_off_and_retried",
    } <= recorded


# Drift between the fake and Central ------------------------------------------------


def _shape(node: Any) -> Any:
    """The JSON skeleton of a document: keys and types, first list item only."""
    if isinstance(node, dict):
        return {key: _shape(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_shape(node[0])] if node else []
    return type(node).__name__


def _differences(fake: Any, live: Any, where: str) -> Iterator[str]:
    if isinstance(fake, dict) and isinstance(live, dict):
        for key in sorted(fake.keys() - live.keys()):
            yield f"{where}.{key}: sent by the fake, not by Central"
        for key in sorted(live.keys() - fake.keys()):
            yield f"{where}.{key}: sent by Central, not by the fake"
        for key in sorted(fake.keys() & live.keys()):
            yield from _differences(fake[key], live[key], f"{where}.{key}")
    elif isinstance(fake, list) and isinstance(live, list):
        if fake and live:
            yield from _differences(fake[0], live[0], f"{where}[]")
    elif fake != live and "NoneType" not in (fake, live):
        yield f"{where}: the fake sends {fake}, Central sends {live}"


def _exchanges(path: Path) -> dict[tuple[str, str, int], tuple[Any, set[str]]]:
    """(method, path, status) -> (body shape, compared header names), first seen."""
    seen: dict[tuple[str, str, int], tuple[Any, set[str]]] = {}
    for interaction in _interactions(path):
        request, response = interaction["request"], interaction["response"]
        key = (
            request["method"].upper(),
            urlsplit(request["uri"]).path,
            response["status"]["code"],
        )
        if key in seen:
            continue
        try:
            body = _shape(json.loads(_body_bytes(response)))
        except ValueError:
            body = "text"
        headers = {name.lower() for name in response["headers"]} & COMPARED_HEADERS
        seen[key] = (body, headers)
    return seen


@pytest.mark.parametrize(
    "live",
    PAIRED or [pytest.param(None, marks=pytest.mark.skip(reason="no live cassettes"))],
    ids=lambda path: _id(path) if path else "none",
)
def test_the_fake_and_central_recordings_agree_in_shape(live: Path) -> None:
    fake = _exchanges(CASSETTES / live.relative_to(LIVE))
    central = _exchanges(live)

    drift: list[str] = []
    for key in sorted(fake.keys() & central.keys()):
        label = f"{key[0]} {key[1]} {key[2]}"
        (fake_body, fake_headers), (live_body, live_headers) = fake[key], central[key]
        drift += _differences(fake_body, live_body, label)
        drift += [
            f"{label}: header {h} only from the fake"
            for h in fake_headers - live_headers
        ]
        drift += [
            f"{label}: header {h} only from Central"
            for h in live_headers - fake_headers
        ]

    assert drift == [], "the fake drifts from Central:\n" + "\n".join(drift)


def test_drift_is_named_field_by_field() -> None:
    fake = _shape({"total": 1, "sites": [{"site_id": 1, "tags": None}]})
    central = _shape({"sites": [{"site_id": "1", "tags": {}, "timezone": "UTC"}]})

    drift = list(_differences(fake, central, "GET /central/v2/sites 200"))

    assert drift == [
        "GET /central/v2/sites 200.total: sent by the fake, not by Central",
        "GET /central/v2/sites 200.sites[].timezone: sent by Central, not by the fake",
        "GET /central/v2/sites 200.sites[].site_id: "
        "the fake sends int, Central sends str",
    ]


# The scrubber and the detector themselves -----------------------------------------

TOKEN_URL = "https://apigw-prod2.central.arubanetworks.com/oauth2/token"
TOKEN = "Xxbh5Z3vS8FcULX4BaCtitCvP9Mg87MU"
SECRET = "LfvkSvREqcATOSmNcPp5T9ojo8cw0YbC"


class _Request:
    """The little of vcrpy's Request the scrubber touches."""

    def __init__(self, uri: str, body: Any, headers: dict[str, str]) -> None:
        self.uri, self.body, self.headers = uri, body, headers


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            {"client_secret": SECRET, "refresh_token": TOKEN}, id="json-mapping"
        ),
        pytest.param(
            json.dumps({"client_secret": SECRET, "refresh_token": TOKEN}).encode(),
            id="json-bytes",
        ),
        pytest.param(
            f"client_secret={SECRET}&refresh_token={TOKEN}".encode(), id="form-bytes"
        ),
    ],
)
def test_the_scrubber_replaces_request_secrets_wherever_they_travel(body: Any) -> None:
    scrubber = Scrubber()
    request = _Request(
        f"{TOKEN_URL}?client_secret={SECRET}",
        body,
        {"Authorization": f"Bearer {TOKEN}"},
    )

    scrubbed = scrubber.before_record_request(request)

    text = f"{scrubbed.uri} {scrubbed.body!r} {scrubbed.headers}"
    assert TOKEN not in text
    assert SECRET not in text
    assert "scrubbed-client-secret-1" in text
    assert scrubbed.headers["Authorization"] == "Bearer scrubbed-access-token-1"


def test_the_scrubber_numbers_rotated_tokens_in_order() -> None:
    scrubber = Scrubber()
    scrubber.learn("refresh-token", "old-refresh-token-value")
    response = {
        "headers": {"Content-Length": ["70"]},
        "body": {
            "string": json.dumps({"access_token": TOKEN, "refresh_token": SECRET})
        },
    }

    scrubbed = scrubber.before_record_response(response)

    document = json.loads(scrubbed["body"]["string"])
    assert document == {
        "access_token": "scrubbed-access-token-1",
        "refresh_token": "scrubbed-refresh-token-2",
    }
    assert scrubbed["headers"]["Content-Length"] == [
        str(len(scrubbed["body"]["string"]))
    ]


def _cassette(request_body: Any, response_body: str) -> str:
    return yaml.safe_dump(
        {
            "interactions": [
                {
                    "request": {
                        "method": "POST",
                        "uri": TOKEN_URL,
                        "body": request_body,
                        "headers": {},
                    },
                    "response": {
                        "status": {"code": 200, "message": "OK"},
                        "headers": {},
                        "body": {"string": response_body},
                    },
                }
            ],
            "version": 1,
        }
    )


@pytest.mark.parametrize(
    ("request_body", "response_body", "expected"),
    [
        pytest.param(
            {"refresh_token": "scrubbed-refresh-token-1"},
            json.dumps({"access_token": TOKEN}),
            "field 'access_token' holds a real value",
            id="token-in-a-response",
        ),
        pytest.param(
            f"client_secret={SECRET}",
            "{}",
            "field 'client_secret' holds a real value",
            id="secret-in-a-form-body",
        ),
        pytest.param(
            None,
            json.dumps({"note": f"copied {TOKEN} here"}),
            "credential-looking string",
            id="token-anywhere",
        ),
    ],
)
def test_the_detector_finds_a_leaked_credential(
    request_body: Any, response_body: str, expected: str
) -> None:
    leaks = find_leaks(_cassette(request_body, response_body))

    assert any(expected in leak for leak in leaks), leaks


def test_the_detector_accepts_placeholders_and_ordinary_data() -> None:
    body = json.dumps(
        {
            "access_token": "scrubbed-access-token-2",
            "site_name": "Site-0001-Springfield-Campus-North",
            "macaddr": "20:4c:03:91:b7:5a",
        }
    )

    assert find_leaks(_cassette({"client_id": "scrubbed-client-id-1"}, body)) == []


def test_replays_match_on_the_query_without_its_secrets() -> None:
    base = "https://apigw-prod2.central.arubanetworks.com/central/v2/sites"
    recorded = _Request(
        f"{base}?offset=0&access_token=scrubbed-access-token-1", None, {}
    )
    replayed = _Request(f"{base}?access_token={TOKEN}&offset=0", None, {})
    next_page = _Request(f"{base}?offset=10", None, {})

    query_without_secrets(recorded, replayed)
    with pytest.raises(AssertionError):
        query_without_secrets(recorded, next_page)
