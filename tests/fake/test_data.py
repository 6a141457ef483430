"""Sites, inventory and monitoring: shapes, pagination, determinism, scale."""

from __future__ import annotations

import time
import tracemalloc

import pytest
from fake_helpers import APS, GATEWAYS, INVENTORY, SITES, SWITCHES, Gateway

from fake_central import AppInfo, FakeCentral, Tenant, TokenPair

SITE_FIELDS = {
    "site_id", "site_name", "address", "city", "state", "country", "zipcode",
    "latitude", "longitude", "associated_device_count", "tags",
}  # fmt: skip
INVENTORY_FIELDS = {
    "aruba_part_no", "customer_id", "customer_name", "device_type", "imei", "macaddr",
    "model", "serial", "services", "tier_type",
}  # fmt: skip
MONITORING_FIELDS = {
    "serial", "name", "macaddr", "model", "status", "ip_address", "public_ip_address",
    "firmware_version", "group_name", "site", "labels",
}  # fmt: skip


# -- sites ---------------------------------------------------------------------------


async def test_sites_are_served_with_count_sites_and_total(
    gateway: Gateway, pair: TokenPair, tenant: Tenant
) -> None:
    reply = await gateway.get(
        SITES, pair.access_token, {"limit": "5", "calculate_total": "true"}
    )

    body = reply.json()
    assert list(body) == ["count", "sites", "total"]
    assert body["count"] == 5
    assert body["total"] == 40
    assert body["sites"] == tenant.sites[:5]
    first = body["sites"][0]
    assert set(first) == SITE_FIELDS
    assert isinstance(first["site_id"], int)
    assert isinstance(first["latitude"], str)
    float(first["latitude"])


async def test_sites_default_to_a_page_of_one_hundred(
    gateway: Gateway, fake: FakeCentral, app_info: AppInfo, pair: TokenPair
) -> None:
    fake.load_inventory(app_info.customer_id, sites=150, devices=0, seed=2)

    reply = await gateway.get(SITES, pair.access_token)

    assert reply.json()["count"] == 100


async def test_paging_through_sites_visits_each_site_once_in_name_order(
    gateway: Gateway, pair: TokenPair, tenant: Tenant
) -> None:
    names: list[str] = []
    for offset in range(0, 40, 15):
        page = await gateway.get(
            SITES, pair.access_token, {"offset": str(offset), "limit": "15"}
        )
        names += [site["site_name"] for site in page.json()["sites"]]

    assert names == sorted(names)
    assert len(set(names)) == 40


@pytest.mark.parametrize("sort", ["-site_name", " site_name", "+site_name"])
async def test_sites_are_ordered_by_the_sort_parameter(
    gateway: Gateway, pair: TokenPair, tenant: Tenant, sort: str
) -> None:
    reply = await gateway.get(SITES, pair.access_token, {"sort": sort, "limit": "1000"})

    names = [site["site_name"] for site in reply.json()["sites"]]
    assert names == sorted(names, reverse=sort.startswith("-"))


async def test_a_descending_second_page_continues_the_first(
    gateway: Gateway, pair: TokenPair, tenant: Tenant
) -> None:
    params = {"sort": "-site_name", "limit": "25"}
    first = await gateway.get(SITES, pair.access_token, params)
    second = await gateway.get(SITES, pair.access_token, {**params, "offset": "25"})

    names = [s["site_name"] for s in first.json()["sites"] + second.json()["sites"]]
    assert names == sorted((s["site_name"] for s in tenant.sites), reverse=True)


async def test_an_offset_past_the_end_is_an_empty_page(
    gateway: Gateway, pair: TokenPair, tenant: Tenant
) -> None:
    reply = await gateway.get(SITES, pair.access_token, {"offset": "500"})

    assert reply.json() == {"count": 0, "sites": [], "total": 40}


async def test_a_tenant_without_data_serves_empty_lists(
    gateway: Gateway, pair: TokenPair
) -> None:
    for path, wrapper in ((SITES, "sites"), (INVENTORY, "devices"), (APS, "aps")):
        reply = await gateway.get(path, pair.access_token)
        assert reply.status == 200
        assert reply.json()[wrapper] == []


async def test_totals_move_when_sites_change_between_pages(
    gateway: Gateway,
    fake: FakeCentral,
    app_info: AppInfo,
    pair: TokenPair,
    tenant: Tenant,
) -> None:
    first = await gateway.get(SITES, pair.access_token, {"limit": "20"})
    fake.tenant(app_info.customer_id).add_sites(5)
    grown = await gateway.get(SITES, pair.access_token, {"offset": "20", "limit": "20"})
    fake.tenant(app_info.customer_id).remove_sites(10, from_start=True)
    shrunk = await gateway.get(
        SITES, pair.access_token, {"offset": "20", "limit": "20"}
    )

    assert first.json()["total"] == 40
    assert grown.json()["total"] == 45
    assert shrunk.json()["total"] == 35
    assert shrunk.json()["count"] == 15


def test_removed_sites_leave_their_devices_without_a_site(tenant: Tenant) -> None:
    removed = {site["site_name"] for site in tenant.remove_sites(40)}

    assert removed
    assert all(ap["site"] is None for ap in tenant.monitoring["aps"])


def test_site_names_are_unique_and_site_ids_stay_unique_after_additions(
    tenant: Tenant,
) -> None:
    tenant.remove_sites(3)
    tenant.add_sites(10)

    assert len({site["site_name"] for site in tenant.sites}) == 47
    assert len({site["site_id"] for site in tenant.sites}) == 47


def test_a_sites_device_count_is_its_monitored_devices(tenant: Tenant) -> None:
    counted = sum(site["associated_device_count"] for site in tenant.sites)
    monitored = sum(len(devices) for devices in tenant.monitoring.values())

    assert counted == monitored


# -- inventory -------------------------------------------------------------------------


async def test_inventory_pages_default_to_fifty_devices(
    gateway: Gateway, pair: TokenPair, tenant: Tenant
) -> None:
    reply = await gateway.get(INVENTORY, pair.access_token)

    body = reply.json()
    assert list(body) == ["devices", "total"]
    assert len(body["devices"]) == 50
    assert body["total"] == 300
    assert set(body["devices"][0]) == INVENTORY_FIELDS
    assert body["devices"] == tenant.devices[:50]


@pytest.mark.parametrize(
    ("sku_type", "device_type"),
    [
        pytest.param("iap", "iap", id="iap"),
        pytest.param("all_ap", "iap", id="all_ap"),
        pytest.param("IAP", "iap", id="upper IAP"),
        pytest.param("switch", "switch", id="switch"),
        pytest.param("MAS", "switch", id="MAS"),
        pytest.param("gateway", "gateway", id="gateway"),
        pytest.param("all_controller", "gateway", id="all_controller"),
    ],
)
async def test_inventory_is_filtered_by_sku_type(
    gateway: Gateway, pair: TokenPair, tenant: Tenant, sku_type: str, device_type: str
) -> None:
    reply = await gateway.get(
        INVENTORY, pair.access_token, {"sku_type": sku_type, "limit": "1000"}
    )

    devices = reply.json()["devices"]
    assert devices
    assert {device["device_type"] for device in devices} == {device_type}
    assert reply.json()["total"] == len(devices)


async def test_sku_types_the_fake_never_generates_are_empty(
    gateway: Gateway, pair: TokenPair, tenant: Tenant
) -> None:
    reply = await gateway.get(INVENTORY, pair.access_token, {"sku_type": "vgw"})

    assert reply.json() == {"devices": [], "total": 0}


@pytest.mark.parametrize(
    ("casing", "expected"),
    [
        pytest.param("lower", {"iap", "switch", "gateway"}, id="lower"),
        pytest.param("upper", {"IAP", "SWITCH", "GATEWAY"}, id="upper"),
        pytest.param("short", {"AP", "SWITCH", "GATEWAY"}, id="short"),
    ],
)
def test_the_inventory_device_type_spelling_is_configurable(
    fake: FakeCentral, tenant: Tenant, casing: str, expected: set[str]
) -> None:
    fake.configure(device_type_casing=casing)

    assert {device["device_type"] for device in tenant.devices} == expected


# -- monitoring ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "wrapper", "extra"),
    [
        pytest.param(
            APS, "aps", {"swarm_id", "swarm_master", "last_modified"}, id="aps"
        ),
        pytest.param(SWITCHES, "switches", {"switch_type", "stack_id"}, id="switches"),
        pytest.param(GATEWAYS, "gateways", set(), id="gateways"),
    ],
)
async def test_monitoring_lists_carry_site_status_and_firmware(
    gateway: Gateway,
    pair: TokenPair,
    tenant: Tenant,
    path: str,
    wrapper: str,
    extra: set[str],
) -> None:
    reply = await gateway.get(path, pair.access_token, {"limit": "1000"})

    body = reply.json()
    assert list(body) == [wrapper, "count", "total"]
    assert body["count"] == len(body[wrapper]) == body["total"]
    assert body[wrapper] == list(tenant.monitoring[wrapper])
    device = body[wrapper][0]
    assert set(device) == MONITORING_FIELDS | extra
    assert device["status"] in ("Up", "Down")
    assert isinstance(device["firmware_version"], str)


def test_some_inventory_devices_never_checked_in(
    fake: FakeCentral, app_info: AppInfo
) -> None:
    tenant = fake.load_inventory(
        app_info.customer_id, sites=5, devices=200, seed=3, unmonitored_fraction=0.25
    )

    inventory = {device["serial"] for device in tenant.devices}
    monitored = {d["serial"] for kind in tenant.monitoring.values() for d in kind}
    assert monitored < inventory
    assert 20 < len(inventory - monitored) < 80


async def test_monitoring_filters_by_site_and_status(
    gateway: Gateway, pair: TokenPair, tenant: Tenant
) -> None:
    site = tenant.monitoring["aps"][0]["site"]

    reply = await gateway.get(APS, pair.access_token, {"site": site, "status": "up"})

    aps = reply.json()["aps"]
    assert aps
    assert {(ap["site"], ap["status"]) for ap in aps} == {(site, "Up")}


async def test_monitoring_sorts_by_serial(
    gateway: Gateway, pair: TokenPair, tenant: Tenant
) -> None:
    reply = await gateway.get(
        SWITCHES, pair.access_token, {"sort": "-serial", "limit": "1000"}
    )

    serials = [switch["serial"] for switch in reply.json()["switches"]]
    assert serials == sorted(serials, reverse=True)


async def test_filters_no_generated_device_matches_select_nothing(
    gateway: Gateway, pair: TokenPair, tenant: Tenant
) -> None:
    reply = await gateway.get(APS, pair.access_token, {"label": "lobby"})

    assert reply.json() == {"aps": [], "count": 0, "total": 0}


# -- generation ------------------------------------------------------------------------


def test_device_collections_compare_equal_to_lists_of_their_dicts(
    tenant: Tenant,
) -> None:
    as_list = [dict(device) for device in tenant.devices]

    assert tenant.devices == as_list
    assert tenant.monitoring["aps"] != as_list
    assert repr(tenant.devices) == "<RecordView of 300 devices>"


def test_the_same_seed_gives_the_same_tenant() -> None:
    first = Tenant.generate("c" * 32, "US-2", sites=30, devices=400, seed=7)
    again = Tenant.generate("c" * 32, "US-2", sites=30, devices=400, seed=7)
    other = Tenant.generate("c" * 32, "US-2", sites=30, devices=400, seed=8)

    assert first.sites == again.sites
    assert list(first.devices) == list(again.devices)
    assert list(first.monitoring["aps"]) == list(again.monitoring["aps"])
    assert list(first.devices) != list(other.devices)


def test_serials_and_macs_are_unique_across_a_tenant() -> None:
    tenant = Tenant.generate("c" * 32, "US-2", sites=10, devices=5000, seed=1)

    assert len({device["serial"] for device in tenant.devices}) == 5000
    assert len({device["macaddr"] for device in tenant.devices}) == 5000


def test_the_generator_scales_to_two_thousand_sites_and_a_hundred_thousand_devices() -> (
    None
):
    began = time.perf_counter()
    tenant = Tenant.generate("c" * 32, "US-2", sites=2000, devices=100_000, seed=1)
    seconds = time.perf_counter() - began

    assert len(tenant.devices) == 100_000
    assert len(tenant.sites) == 2000
    assert seconds < 8, f"generation took {seconds:.1f} s"


def test_a_device_costs_well_under_a_kilobyte_of_memory() -> None:
    tracemalloc.start()
    try:
        tenant = Tenant.generate("c" * 32, "US-2", sites=100, devices=10_000, seed=1)
        used, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert len(tenant.devices) == 10_000
    assert used / 10_000 < 600, f"{used / 10_000:.0f} bytes per device"
