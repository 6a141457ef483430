"""The contract itself: valid OpenAPI, complete for the connector, honest in doubt."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from contract_schema import (
    API_OPERATIONS,
    CONFIDENCE_LEVELS,
    OPERATIONS,
    RATE_LIMIT_HEADERS,
    TOKEN_PATH,
    contract_document,
    operation,
    resolve,
    validator_for,
)
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

OPERATION_IDS = [op_id for _, _, op_id in OPERATIONS]
API_OPERATION_IDS = [op_id for _, _, op_id in API_OPERATIONS]


def _walk(node: Any, where: str = "") -> Iterator[tuple[str, Any]]:
    yield where, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{where}/{index}")


def test_the_contract_validates_as_openapi() -> None:
    document = contract_document()

    validate(document)

    assert document["openapi"].startswith("3.")


def test_the_validator_rejects_a_response_without_a_description() -> None:
    broken = copy.deepcopy(contract_document())
    del broken["paths"]["/central/v2/sites"]["get"]["responses"]["200"]["description"]

    with pytest.raises(OpenAPIValidationError, match="description"):
        validate(broken)


@pytest.mark.parametrize(
    ("method", "path", "operation_id"), OPERATIONS, ids=OPERATION_IDS
)
def test_every_operation_the_connector_uses_is_described(
    method: str, path: str, operation_id: str
) -> None:
    described = operation(method, path)

    assert described["operationId"] == operation_id
    assert "200" in described["responses"]


@pytest.mark.parametrize(
    ("method", "path", "operation_id"), API_OPERATIONS, ids=API_OPERATION_IDS
)
def test_every_api_operation_documents_the_errors_central_sends(
    method: str, path: str, operation_id: str
) -> None:
    responses = operation(method, path)["responses"]

    assert {"400", "401", "403", "429"} <= set(responses)


def test_the_token_refresh_documents_its_oauth_error() -> None:
    responses = operation("post", TOKEN_PATH)["responses"]

    body = resolve(responses["400"]["content"]["application/json"]["schema"])

    assert body["required"] == ["error", "error_description"]
    assert operation("post", TOKEN_PATH)["security"] == []


@pytest.mark.parametrize(
    ("method", "path", "operation_id"), API_OPERATIONS, ids=API_OPERATION_IDS
)
@pytest.mark.parametrize("status", ["200", "429"])
def test_api_responses_promise_the_rate_limit_headers(
    method: str, path: str, operation_id: str, status: str
) -> None:
    response = resolve(operation(method, path)["responses"][status])

    headers = {name: resolve(spec) for name, spec in response["headers"].items()}

    for name in RATE_LIMIT_HEADERS:
        assert headers[name]["required"] is True, name
        assert headers[name]["schema"]["type"] == "integer", name


def test_every_confidence_mark_uses_a_reference_level() -> None:
    marks = [
        (where, value)
        for where, node in _walk(contract_document())
        if isinstance(node, dict)
        for key, value in node.items()
        if key == "x-confidence"
    ]

    assert marks, "the contract marks no uncertain fact"
    assert [m for m in marks if m[1] not in CONFIDENCE_LEVELS] == []


def test_every_link_targets_an_operation_of_the_contract() -> None:
    known = set(OPERATION_IDS)

    targets = [
        (where, node["operationId"])
        for where, node in _walk(contract_document()["paths"])
        if "/links/" in where and isinstance(node, dict) and "operationId" in node
    ]

    assert {target for _, target in targets} <= known
    assert {"listSites", "listInventory", "listAccessPoints"} <= {
        target for _, target in targets
    }


@pytest.mark.parametrize(
    ("schema", "example"),
    [
        pytest.param(
            "TokenResponse",
            {
                "access_token": "CnjDaXXxvnjrvJRwxxxxXXxxXXXXxxxx",
                "refresh_token": "QqL0cvYzXxxxXXxxXxxxxXXxxXXxxxXx",
                "token_type": "bearer",
                "expires_in": 7200,
            },
            id="token-response",
        ),
        pytest.param(
            "SitesPage",
            {
                "count": 1,
                "sites": [
                    {
                        "site_id": 1,
                        "site_name": "test-pcap",
                        "address": "bangalore",
                        "city": "bangalore",
                        "state": "Karnataka",
                        "country": "India",
                        "zipcode": "560103",
                        "latitude": "12.9298689",
                        "longitude": "77.6848366",
                        "associated_device_count": 4,
                        "tags": None,
                    }
                ],
                "total": 1,
            },
            id="official-sites-example",
        ),
        pytest.param(
            "InvalidToken",
            {
                "error": "invalid_token",
                "error_description": "The access token is invalid or has expired",
            },
            id="invalid-token",
        ),
        pytest.param(
            "RateLimitExceeded",
            {"message": "API rate limit exceeded"},
            id="rate-limited",
        ),
    ],
)
def test_the_reference_examples_satisfy_the_contract(
    schema: str, example: dict[str, Any]
) -> None:
    validator = validator_for(f"#/components/schemas/{schema}")

    assert list(validator.iter_errors(example)) == []


def test_a_site_without_its_name_breaks_the_contract() -> None:
    validator = validator_for("#/components/schemas/Site")

    errors = list(validator.iter_errors({"site_id": 1}))

    assert any("'site_name' is a required property" in e.message for e in errors)
