"""Pydantic models of the Central JSON the connector reads.

Fields the reference marks as confirmed are required; the rest are optional.
Unknown fields are ignored, so new fields from Central do not break a sync. A
payload that does not fit raises ``MalformedResponse`` naming the endpoint and
the field, never quoting the payload (see :func:`parse_page`).

The sync reads the inventory, its largest list, as :class:`InventoryRecord` dicts
instead of :class:`InventoryDevice` models: the same required fields, validated
the same way, the optional ones (which the store does not keep) skipped, and no
model instance per device: about 40% of the CPU time of building the models.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    field_validator,
)

# pydantic reads TypedDicts from typing only on Python 3.12+; typing_extensions
# comes with pydantic.
from typing_extensions import TypedDict

from connector.errors import MalformedResponse

__all__ = [
    "INVENTORY_RECORDS",
    "MONITORING_ENDPOINTS",
    "InventoryDevice",
    "InventoryPage",
    "InventoryRecord",
    "InventoryRecordsPage",
    "MonitoredDevice",
    "MonitoringKind",
    "MonitoringPage",
    "Site",
    "SitesPage",
    "monitoring_payload",
    "parse_monitoring_json",
    "parse_page",
    "parse_page_json",
    "parse_records_json",
]

MonitoringKind = Literal["aps", "switches", "gateways"]

#: Monitoring kind -> (path, wrapper key of the list in the response).
MONITORING_ENDPOINTS: dict[str, tuple[str, str]] = {
    "aps": ("/monitoring/v2/aps", "aps"),
    "switches": ("/monitoring/v1/switches", "switches"),
    "gateways": ("/monitoring/v1/gateways", "gateways"),
}


class _CentralModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)


# Validated in pydantic-core, not in a Python validator: one call fewer per device.
_LowerCase = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True)]


class Site(_CentralModel):
    """One site from ``GET /central/v2/sites``."""

    site_id: int
    site_name: str
    address: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    zipcode: str | None = None
    latitude: str | None = None
    longitude: str | None = None
    associated_device_count: int | None = None
    tags: Any = None

    @field_validator("latitude", "longitude", "zipcode", mode="before")
    @classmethod
    def _number_as_text(cls, value: object) -> object:
        # Documented as numeric strings; accept bare numbers too.
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        return value


class SitesPage(_CentralModel):
    """One page of sites: ``count`` on this page, ``total`` across pages."""

    count: int
    sites: list[Site]
    total: int


class InventoryDevice(_CentralModel):
    """One device from ``GET /platform/device_inventory/v1/devices``.

    The inventory has no site, status, firmware or name; those come from the
    monitoring endpoints. ``device_type`` is lower-cased, since its casing
    differs between eras of Central ("iap" vs "AP").
    """

    serial: str
    macaddr: str
    model: str
    device_type: _LowerCase
    aruba_part_no: str
    customer_id: str
    customer_name: str | None = None
    services: list[str] = Field(default_factory=list)
    tier_type: str | None = None
    imei: str | None = None

    @field_validator("services", mode="before")
    @classmethod
    def _no_services(cls, value: object) -> object:
        # pydantic-core has no "null means the default"; this call costs about
        # 3% of an inventory page's validation, and keeps ``services`` a list.
        return [] if value is None else value


class InventoryPage(_CentralModel):
    """One page of inventory devices and the total across pages."""

    devices: list[InventoryDevice]
    total: int


_RECORD_CONFIG = ConfigDict(extra="ignore", hide_input_in_errors=True)


class InventoryRecord(TypedDict):
    """The fields of one inventory device that a sync stores, as a plain dict.

    The required fields of :class:`InventoryDevice` (``customer_id`` too, so that
    the same pages are refused), validated as it validates them (``device_type``
    lower-cased); the optional ones are ignored like any unknown field.
    """

    __pydantic_config__ = _RECORD_CONFIG  # type: ignore[misc]  # read by pydantic

    serial: str
    macaddr: str
    model: str
    device_type: _LowerCase
    aruba_part_no: str
    customer_id: str


class InventoryRecordsPage(TypedDict):
    """One page of inventory records and the total across pages."""

    __pydantic_config__ = _RECORD_CONFIG  # type: ignore[misc]  # read by pydantic

    devices: list[InventoryRecord]
    total: int


INVENTORY_RECORDS: TypeAdapter[InventoryRecordsPage] = TypeAdapter(InventoryRecordsPage)
"""Validates an inventory body into an :class:`InventoryRecordsPage`, built once."""


class MonitoredDevice(_CentralModel):
    """One AP, switch or gateway from the monitoring endpoints.

    ``site`` is the site *name* (monitoring does not give the site id).
    """

    serial: str
    name: str | None = None
    macaddr: str
    model: str
    status: str | None = None
    firmware_version: str | None = None
    site: str | None = None
    ip_address: str | None = None
    group_name: str | None = None


class MonitoringPage(_CentralModel):
    """One page from a monitoring endpoint, its list taken from the wrapper key."""

    kind: str
    items: list[MonitoredDevice]
    count: int | None = None
    total: int

    @property
    def devices(self) -> list[MonitoredDevice]:
        """The same list as ``items``."""
        return self.items


class _Envelope(_CentralModel):
    """A monitoring response as sent; subclasses read the list from its wrapper key.

    Errors then name the field as the response spells it (``aps[3].serial``).
    """

    items: list[MonitoredDevice]
    count: int | None = None
    total: int


class _ApsEnvelope(_Envelope):
    items: list[MonitoredDevice] = Field(validation_alias="aps")


class _SwitchesEnvelope(_Envelope):
    items: list[MonitoredDevice] = Field(validation_alias="switches")


class _GatewaysEnvelope(_Envelope):
    items: list[MonitoredDevice] = Field(validation_alias="gateways")


_ENVELOPES: dict[str, type[_Envelope]] = {
    "aps": _ApsEnvelope,
    "switches": _SwitchesEnvelope,
    "gateways": _GatewaysEnvelope,
}


_Page = TypeVar("_Page", bound=BaseModel)
_T = TypeVar("_T")


def parse_page(
    model: type[_Page],
    payload: dict[str, Any],
    *,
    endpoint: str,
    renamed: dict[str, str] | None = None,
) -> _Page:
    """Validate ``payload`` as ``model`` or raise ``MalformedResponse``.

    ``renamed`` maps model field names back to the response's own keys, so the
    error names the field as the response spells it.
    """
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise _malformed(exc, endpoint, renamed) from None


def parse_page_json(
    model: type[_Page],
    body: bytes,
    *,
    endpoint: str,
    status: int | None = None,
    method: str | None = None,
    url: str | None = None,
) -> _Page:
    """Decode and validate a response body as ``model`` in one pass.

    pydantic-core reads the bytes straight into the model, with no dicts in
    between. Raises ``MalformedResponse`` as :func:`parse_page` does; when the
    body is not JSON or not a JSON object, ``field`` is ``None`` and the error
    names the exchange (``status``, ``method``, ``url``).
    """
    exchange = {"status": status, "method": method, "url": url}
    return _validate_json(model.model_validate_json, body, endpoint, exchange)


def parse_records_json(
    adapter: TypeAdapter[_T],
    body: bytes,
    *,
    endpoint: str,
    status: int | None = None,
    method: str | None = None,
    url: str | None = None,
) -> _T:
    """Decode and validate a response body into plain dicts, such as
    :data:`INVENTORY_RECORDS`; errors as :func:`parse_page_json` raises them.
    """
    exchange = {"status": status, "method": method, "url": url}
    return _validate_json(adapter.validate_json, body, endpoint, exchange)


def _validate_json(
    validate: Callable[[bytes], _T],
    body: bytes,
    endpoint: str,
    exchange: dict[str, Any],
) -> _T:
    try:
        return validate(body)
    except ValidationError as exc:
        error = exc.errors(include_input=False, include_url=False)[0]
        if error["loc"] or error["type"] not in _NOT_AN_OBJECT:
            raise _malformed(exc, endpoint, None) from None
        problem = (
            "the body is not JSON"
            if error["type"] == "json_invalid"
            else "the body is not a JSON object"
        )
        raise MalformedResponse(
            endpoint=endpoint, field=None, problem=problem, **exchange
        ) from None


def parse_monitoring_json(
    kind: str, body: bytes, *, endpoint: str, **exchange: Any
) -> MonitoringPage:
    """A monitoring response body as a :class:`MonitoringPage` (see above)."""
    envelope = parse_page_json(_ENVELOPES[kind], body, endpoint=endpoint, **exchange)
    return MonitoringPage(
        kind=kind, items=envelope.items, count=envelope.count, total=envelope.total
    )


# What pydantic-core reports when the whole body is unusable.
_NOT_AN_OBJECT = frozenset(
    {"json_invalid", "model_type", "model_attributes_type", "dict_type"}
)


def _malformed(
    exc: ValidationError, endpoint: str, renamed: dict[str, str] | None
) -> MalformedResponse:
    error = exc.errors(include_input=False, include_url=False)[0]
    location = list(error["loc"])
    if location and renamed and location[0] in renamed:
        location[0] = renamed[str(location[0])]
    field = _dotted(tuple(location))
    problem = (
        "is missing" if error["type"] == "missing" else f"is invalid ({error['msg']})"
    )
    return MalformedResponse(endpoint=endpoint, field=field, problem=problem)


def monitoring_payload(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """A monitoring response reshaped for :class:`MonitoringPage`."""
    wrapper = MONITORING_ENDPOINTS[kind][1]
    reshaped: dict[str, Any] = {"kind": kind}
    for source, target in ((wrapper, "items"), ("count", "count"), ("total", "total")):
        if source in payload:
            reshaped[target] = payload[source]
    return reshaped


def _dotted(location: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for part in location:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(f".{part}" if parts else part)
    return "".join(parts) or "(top level)"
