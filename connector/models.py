"""Pydantic models of the Central JSON the connector reads.

Fields the reference marks as confirmed are required; the rest are optional.
Unknown fields are ignored, so new fields from Central do not break a sync. A
payload that does not fit raises ``MalformedResponse`` naming the endpoint and
the field, never quoting the payload (see :func:`parse_page`).
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from connector.errors import MalformedResponse

__all__ = [
    "MONITORING_ENDPOINTS",
    "InventoryDevice",
    "InventoryPage",
    "MonitoredDevice",
    "MonitoringKind",
    "MonitoringPage",
    "Site",
    "SitesPage",
    "monitoring_payload",
    "parse_page",
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
    device_type: str
    aruba_part_no: str
    customer_id: str
    customer_name: str | None = None
    services: list[str] = Field(default_factory=list)
    tier_type: str | None = None
    imei: str | None = None

    @field_validator("device_type")
    @classmethod
    def _lower_case(cls, value: str) -> str:
        return value.strip().lower()

    @field_validator("services", mode="before")
    @classmethod
    def _no_services(cls, value: object) -> object:
        return [] if value is None else value


class InventoryPage(_CentralModel):
    """One page of inventory devices and the total across pages."""

    devices: list[InventoryDevice]
    total: int


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


_Page = TypeVar("_Page", bound=BaseModel)


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
        error = exc.errors(include_input=False, include_url=False)[0]
        location = list(error["loc"])
        if location and renamed and location[0] in renamed:
            location[0] = renamed[str(location[0])]
        field = _dotted(tuple(location))
        problem = (
            "is missing"
            if error["type"] == "missing"
            else f"is invalid ({error['msg']})"
        )
        raise MalformedResponse(
            endpoint=endpoint, field=field, problem=problem
        ) from None


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
