"""Models of Central's JSON: tolerant of extras, strict on what is confirmed."""

from __future__ import annotations

from typing import Any

import pytest

from connector.errors import MalformedResponse
from connector.models import (
    InventoryPage,
    MonitoringPage,
    SitesPage,
    monitoring_payload,
    parse_page,
)

SITE = {
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
DEVICE = {
    "aruba_part_no": "AP-505-US",
    "customer_id": "f3a19c",
    "customer_name": "Acme Corp",
    "device_type": "IAP",
    "imei": None,
    "macaddr": "aa:bb:cc:dd:ee:ff",
    "model": "AP-505",
    "serial": "CNABC12345",
    "services": ["foundation_ap"],
    "tier_type": "foundation",
}
AP = {
    "serial": "CNABC12345",
    "name": "AP-Lobby",
    "macaddr": "aa:bb:cc:dd:ee:ff",
    "model": "505",
    "status": "Up",
    "ip_address": "10.0.0.5",
    "firmware_version": "8.7.0.0_75915",
    "group_name": "Campus",
    "site": "HQ",
    "swarm_id": "abc",
    "labels": [],
}


def test_the_documented_sites_example_parses() -> None:
    page = parse_page(
        SitesPage,
        {"count": 1, "sites": [SITE], "total": 1},
        endpoint="/central/v2/sites",
    )

    assert page.sites[0].site_name == "test-pcap"
    assert page.sites[0].latitude == "12.9298689"
    assert (page.count, page.total) == (1, 1)


def test_unknown_fields_are_ignored() -> None:
    payload = {"count": 1, "sites": [{**SITE, "new_field": [1, 2]}], "total": 1, "x": 0}

    page = parse_page(SitesPage, payload, endpoint="/central/v2/sites")

    assert page.sites[0].site_id == 1


def test_optional_site_fields_may_be_missing_or_null() -> None:
    site = {"site_id": 2, "site_name": "bare", "address": None}

    page = parse_page(
        SitesPage, {"count": 1, "sites": [site], "total": 1}, endpoint="s"
    )

    assert page.sites[0].city is None
    assert page.sites[0].associated_device_count is None


def test_numeric_coordinates_are_read_as_text() -> None:
    site = {**SITE, "latitude": 12.5, "longitude": -3, "zipcode": 560103}

    page = parse_page(
        SitesPage, {"count": 1, "sites": [site], "total": 1}, endpoint="s"
    )

    assert (page.sites[0].latitude, page.sites[0].longitude) == ("12.5", "-3")
    assert page.sites[0].zipcode == "560103"


def test_inventory_device_type_is_lower_cased() -> None:
    page = parse_page(InventoryPage, {"devices": [DEVICE], "total": 1}, endpoint="inv")

    assert page.devices[0].device_type == "iap"
    assert page.devices[0].services == ["foundation_ap"]


def test_inventory_services_may_be_null() -> None:
    device = {**DEVICE, "services": None}

    page = parse_page(InventoryPage, {"devices": [device], "total": 1}, endpoint="inv")

    assert page.devices[0].services == []


def test_a_monitoring_page_is_read_from_its_wrapper_key() -> None:
    payload = {"aps": [AP], "count": 1, "total": 7}

    page = parse_page(
        MonitoringPage,
        monitoring_payload("aps", payload),
        endpoint="/monitoring/v2/aps",
    )

    assert page.kind == "aps"
    assert page.items[0].site == "HQ"
    assert page.devices == page.items
    assert (page.count, page.total) == (1, 7)


@pytest.mark.parametrize(
    ("model", "payload", "field", "problem"),
    [
        pytest.param(
            SitesPage,
            {"count": 1, "sites": [{**SITE, "site_id": None}], "total": 1},
            "sites[0].site_id",
            "is invalid",
            id="null-site-id",
        ),
        pytest.param(
            SitesPage,
            {"count": 1, "sites": [SITE]},
            "total",
            "is missing",
            id="no-total",
        ),
        pytest.param(
            InventoryPage,
            {
                "devices": [DEVICE, {k: v for k, v in DEVICE.items() if k != "serial"}],
                "total": 2,
            },
            "devices[1].serial",
            "is missing",
            id="device-without-serial",
        ),
        pytest.param(
            InventoryPage,
            {"devices": "none", "total": 0},
            "devices",
            "is invalid",
            id="devices-not-a-list",
        ),
    ],
)
def test_a_malformed_page_names_endpoint_and_field_but_not_the_payload(
    model: type[Any], payload: dict[str, Any], field: str, problem: str
) -> None:
    with pytest.raises(MalformedResponse) as caught:
        parse_page(model, payload, endpoint="/the/endpoint")

    message = str(caught.value)
    assert caught.value.field == field
    assert caught.value.endpoint == "/the/endpoint"
    assert f"'{field}' {problem}" in message
    assert "CNABC12345" not in message
    assert "bangalore" not in message
    assert caught.value.__cause__ is None


def test_a_monitoring_error_names_the_wrapper_key() -> None:
    payload = {"switches": [{"name": "no serial"}], "total": 1}

    with pytest.raises(MalformedResponse) as caught:
        parse_page(
            MonitoringPage,
            monitoring_payload("switches", payload),
            endpoint="/monitoring/v1/switches",
            renamed={"items": "switches"},
        )

    assert caught.value.field == "switches[0].serial"


def test_a_monitoring_payload_without_its_wrapper_key_is_malformed() -> None:
    with pytest.raises(MalformedResponse) as caught:
        parse_page(
            MonitoringPage,
            monitoring_payload("gateways", {"total": 0}),
            endpoint="/monitoring/v1/gateways",
            renamed={"items": "gateways"},
        )

    assert caught.value.field == "gateways"
