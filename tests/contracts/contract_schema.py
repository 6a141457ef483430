"""The OpenAPI contract as the contract tests read it.

One loader for ``contracts/central.openapi.yaml`` and the few lookups the tests share:
the operations the connector uses, and a JSON Schema validator for any component.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

CONTRACT_PATH = (
    Path(__file__).resolve().parents[2] / "contracts" / "central.openapi.yaml"
)
_CONTRACT_URI = "urn:central-contract"

TOKEN_PATH = "/oauth2/token"

# (method, path, operationId) of every Central call the connector makes.
OPERATIONS = (
    ("post", TOKEN_PATH, "refreshToken"),
    ("get", "/central/v2/sites", "listSites"),
    ("get", "/platform/device_inventory/v1/devices", "listInventory"),
    ("get", "/monitoring/v2/aps", "listAccessPoints"),
    ("get", "/monitoring/v1/switches", "listSwitches"),
    ("get", "/monitoring/v1/gateways", "listGateways"),
)
API_OPERATIONS = tuple(op for op in OPERATIONS if op[1] != TOKEN_PATH)

RATE_LIMIT_HEADERS = (
    "X-RateLimit-Limit-day",
    "X-RateLimit-Remaining-day",
    "X-RateLimit-Limit-second",
    "X-RateLimit-Remaining-second",
)

CONFIDENCE_LEVELS = frozenset({"confirmed", "inferred", "unknown"})


@functools.cache
def _load() -> dict[str, Any]:
    with CONTRACT_PATH.open(encoding="utf-8") as stream:
        document: dict[str, Any] = yaml.safe_load(stream)
    return document


def contract_document() -> dict[str, Any]:
    """The parsed contract (YAML anchors expanded). Callers must not mutate it."""
    return _load()


def resolve(node: Any) -> Any:
    """Follow local ``$ref`` pointers until a node without one is reached."""
    while isinstance(node, dict) and "$ref" in node:
        node = pointer(node["$ref"])
    return node


def pointer(ref: str) -> Any:
    """The node a local reference such as ``#/components/schemas/Site`` names."""
    if not ref.startswith("#/"):
        raise ValueError(f"only local references are supported, got {ref!r}")
    node: Any = contract_document()
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


@functools.cache
def _registry() -> Registry[Any]:
    resource = Resource(contents=contract_document(), specification=DRAFT202012)
    return Registry().with_resource(_CONTRACT_URI, resource)


def validator_for(ref: str) -> jsonschema.protocols.Validator:
    """A JSON Schema validator for one contract schema (``#/components/schemas/X``)."""
    validator: jsonschema.protocols.Validator = jsonschema.Draft202012Validator(
        {"$ref": f"{_CONTRACT_URI}{ref}"}, registry=_registry()
    )
    return validator


def operation(method: str, path: str) -> dict[str, Any]:
    """The operation object for ``method`` and ``path``."""
    node: dict[str, Any] = contract_document()["paths"][path][method.lower()]
    return node


def response_schema_ref(method: str, path: str, status: int | str) -> str | None:
    """The pointer to the JSON body schema of one documented response, if any."""
    escaped = path.replace("~", "~0").replace("/", "~1")
    ref = f"#/paths/{escaped}/{method.lower()}/responses/{status}"
    response = pointer(ref)
    while "$ref" in response:
        ref = response["$ref"]
        response = pointer(ref)
    if "application/json" not in response.get("content", {}):
        return None
    return f"{ref}/content/application~1json/schema"
