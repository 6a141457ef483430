"""Consumer verification: the connector's models accept every body the contract allows.

Each model is walked next to the 200 body of the operation it reads (see
``contract_compat``), and so are the TypedDicts the sync reads the inventory into
(``InventoryRecordsPage``, ``InventoryRecord``), through their ``TypeAdapter``.
A failure names the field and what the contract allows that the model refuses,
or a field the model requires that the contract never promised.
"""

from __future__ import annotations

from typing import Any

import pytest
from contract_compat import disagreements, flatten
from contract_schema import TOKEN_PATH, contract_document, response_schema_ref
from pydantic import BaseModel, TypeAdapter

from connector import models

SITES = "/central/v2/sites"
INVENTORY = "/platform/device_inventory/v1/devices"


def _body(path: str, method: str = "get") -> str:
    ref = response_schema_ref(method, path, 200)
    assert ref is not None, f"{method.upper()} {path} has no JSON 200 body"
    return ref


def _items(page_ref: str, wrapper: str) -> dict[str, Any]:
    """The schema of one element of a page's list."""
    items: dict[str, Any] = flatten({"$ref": page_ref})["properties"][wrapper]["items"]
    return items


def _as_the_connector_reshapes_it(kind: str) -> dict[str, Any]:
    """A monitoring page after ``monitoring_payload``: the list under ``items``."""
    path, wrapper = models.MONITORING_ENDPOINTS[kind]
    page = flatten({"$ref": _body(path)})
    properties = {
        ("items" if name == wrapper else name): schema
        for name, schema in page["properties"].items()
    }
    required = ["items" if name == wrapper else name for name in page["required"]]
    properties["kind"] = {"type": "string", "enum": [kind]}
    return {**page, "properties": properties, "required": [*required, "kind"]}


class _Walked:
    """A TypedDict dressed as the model ``disagreements`` walks: its JSON schema."""

    def __init__(self, typed_dict: type[Any]) -> None:
        self.__name__ = typed_dict.__name__
        self._adapter: TypeAdapter[Any] = TypeAdapter(typed_dict)

    def model_json_schema(self, *, mode: str, by_alias: bool) -> dict[str, Any]:
        assert mode == "validation"
        return self._adapter.json_schema(mode="validation", by_alias=by_alias)


def _page_and_wrapper(kind: str) -> tuple[str, str]:
    path, wrapper = models.MONITORING_ENDPOINTS[kind]
    return _body(path), wrapper


MONITORING_KINDS = sorted(models.MONITORING_ENDPOINTS)

CASES = [
    pytest.param(models.SitesPage, {"$ref": _body(SITES)}, id="SitesPage"),
    pytest.param(models.Site, _items(_body(SITES), "sites"), id="Site"),
    pytest.param(models.InventoryPage, {"$ref": _body(INVENTORY)}, id="InventoryPage"),
    pytest.param(
        models.InventoryDevice,
        _items(_body(INVENTORY), "devices"),
        id="InventoryDevice",
    ),
    pytest.param(
        _Walked(models.InventoryRecordsPage),
        {"$ref": _body(INVENTORY)},
        id="InventoryRecordsPage",
    ),
    pytest.param(
        _Walked(models.InventoryRecord),
        _items(_body(INVENTORY), "devices"),
        id="InventoryRecord",
    ),
    *(
        pytest.param(
            models.MonitoringPage,
            _as_the_connector_reshapes_it(kind),
            id=f"MonitoringPage-{kind}",
        )
        for kind in MONITORING_KINDS
    ),
    *(
        pytest.param(
            models.MonitoredDevice,
            _items(*_page_and_wrapper(kind)),
            id=f"MonitoredDevice-{kind}",
        )
        for kind in MONITORING_KINDS
    ),
]


@pytest.mark.parametrize(("model", "contract"), CASES)
def test_the_model_accepts_every_body_the_contract_allows(
    model: type[BaseModel] | _Walked, contract: dict[str, Any]
) -> None:
    found = disagreements(model, contract)  # type: ignore[arg-type]  # duck-typed

    assert found == [], "\n".join(found)


@pytest.mark.parametrize("kind", MONITORING_KINDS)
def test_the_connector_reads_monitoring_where_the_contract_says(kind: str) -> None:
    path, wrapper = models.MONITORING_ENDPOINTS[kind]

    page = flatten({"$ref": _body(path)})

    assert wrapper in page["required"]
    assert page["properties"][wrapper]["type"] == "array"


def test_the_contract_documents_the_token_refresh_the_connector_sends() -> None:
    assert TOKEN_PATH in contract_document()["paths"]
