"""The sync against the fake gateway over TLS: results, requests, failures."""

from __future__ import annotations

import math
import sqlite3
from typing import Any

import pytest
from sync_support import (
    PATHS,
    expected_devices,
    expected_sites,
    requests_per_list,
    stored_devices,
    stored_sites,
)

from connector import CentralClient
from connector.errors import DailyBudgetTooSmall, PermissionDenied
from connector.models import INVENTORY_RECORDS, InventoryRecordsPage
from connector.store import InventoryRow, SnapshotWriter, Store
from connector.sync import device_kind, inventory_rows, sync_tenant
from fake_central import AppInfo, FakeCentral, Tenant


async def test_a_sync_equals_the_fakes_ground_truth(
    client: CentralClient, store: Store, tenant: Tenant
) -> None:
    result = await sync_tenant(client, store)

    assert result.run.outcome == "complete"
    assert stored_sites(store) == expected_sites(tenant)
    assert stored_devices(store) == expected_devices(tenant)
    assert (result.run.sites, result.run.devices) == (40, 300)


async def test_devices_absent_from_monitoring_keep_an_unknown_status(
    client: CentralClient, store: Store, tenant: Tenant
) -> None:
    monitored = {e["serial"] for entries in tenant.monitoring.values() for e in entries}
    never_seen = {d["serial"] for d in tenant.devices} - monitored

    result = await sync_tenant(client, store)

    unknown = {d.serial for d in store.devices() if d.status == "unknown"}
    assert never_seen
    assert unknown == never_seen
    assert result.run.unknown_status == len(never_seen)


@pytest.mark.parametrize(
    "limit", [pytest.param(1000, id="limit-1000"), pytest.param(13, id="limit-13")]
)
async def test_a_sync_makes_exactly_the_minimum_number_of_requests(
    client: CentralClient, store: Store, tenant: Tenant, fake: FakeCentral, limit: int
) -> None:
    sizes = list_sizes(tenant)

    result = await sync_tenant(client, store, limit=limit)

    minimum = {name: max(1, math.ceil(n / limit)) for name, n in sizes.items()}
    assert requests_per_list(fake) == minimum
    assert result.run.requests == sum(minimum.values())
    assert stored_devices(store) == expected_devices(tenant)


async def test_more_than_a_thousand_sites_arrive_exactly_once(
    client: CentralClient, store: Store, fake: FakeCentral, app: AppInfo
) -> None:
    tenant = fake.load_inventory(app.customer_id, sites=2500, devices=1200, seed=13)

    result = await sync_tenant(client, store)

    assert requests_per_list(fake)["sites"] == 3
    assert result.lists["sites"].duplicates == 0
    assert stored_sites(store) == expected_sites(tenant)
    assert stored_devices(store) == expected_devices(tenant)


@pytest.mark.parametrize("casing", ["lower", "upper", "short"])
async def test_device_types_compare_case_insensitively(
    client: CentralClient, store: Store, tenant: Tenant, fake: FakeCentral, casing: str
) -> None:
    fake.configure(device_type_casing=casing)

    await sync_tenant(client, store)

    kinds = {device.kind for device in store.devices()}
    assert kinds == {"ap", "switch", "gateway"}
    assert stored_devices(store) == expected_devices(tenant)


@pytest.mark.parametrize(
    ("device_type", "kind"),
    [
        ("iap", "ap"),
        ("IAP", "ap"),
        ("AP", "ap"),
        (" Switch ", "switch"),
        ("GATEWAY", "gateway"),
        ("controller", "gateway"),
        ("vgw", "other"),
    ],
)
def test_device_kinds_ignore_case_and_spaces(device_type: str, kind: str) -> None:
    assert device_kind(device_type) == kind


def test_inventory_rows_carry_each_devices_kind_and_lower_cased_type() -> None:
    device = {
        "serial": "CNABC12345",
        "macaddr": "aa:bb:cc:dd:ee:ff",
        "model": "AP-515",
        "aruba_part_no": "Q9H62A",
        "customer_id": "c1",
        "imei": None,
    }
    types = ["IAP", " Switch ", "controller", "vgw", "iap"]
    page = INVENTORY_RECORDS.validate_python(
        {"devices": [{**device, "device_type": t} for t in types], "total": 5}
    )

    rows = inventory_rows(page)

    assert all(type(row) is InventoryRow for row in rows)
    assert [(row.kind, row.device_type) for row in rows] == [
        ("ap", "iap"),
        ("switch", "switch"),
        ("gateway", "controller"),
        ("other", "vgw"),
        ("ap", "iap"),
    ]
    assert rows[0] == InventoryRow(
        "CNABC12345", "ap", "iap", "AP-515", "aa:bb:cc:dd:ee:ff", "Q9H62A"
    )


async def test_sites_removed_from_central_are_marked_gone_and_keep_their_mapping(
    client: CentralClient, store: Store, tenant: Tenant
) -> None:
    await sync_tenant(client, store)
    removed = tenant.remove_sites(3)
    store.map_site(str(removed[0]["site_id"]), "Fjord Dental")

    result = await sync_tenant(client, store)

    gone = {row.site_id: row for row in store.sites_panel() if row.gone_since}
    assert result.run.gone_sites == 3
    assert set(gone) == {site["site_id"] for site in removed}
    assert gone[removed[0]["site_id"]].customer == "Fjord Dental"
    assert stored_sites(store) == expected_sites(tenant)
    assert stored_devices(store) == expected_devices(tenant)


async def test_a_re_sync_follows_changes_and_keeps_every_mapping(
    client: CentralClient, store: Store, tenant: Tenant
) -> None:
    await sync_tenant(client, store)
    store.map_site("1", "Fjord Dental")
    store.map_site("2", "Polar Freight")
    tenant.add_sites(3)
    tenant.remove_devices(20)
    tenant.add_devices(5, "switches", monitored=False)

    result = await sync_tenant(client, store)

    assert result.run.new_sites == 3
    assert stored_devices(store) == expected_devices(tenant)
    assert store.customers() == ["Fjord Dental", "Polar Freight"]


async def test_a_failure_halfway_through_the_reads_leaves_the_previous_snapshot(
    client: CentralClient, store: Store, tenant: Tenant, fake: FakeCentral
) -> None:
    await sync_tenant(client, store, limit=25)
    store.map_site("1", "Fjord Dental")
    before = (store.sites_panel(), store.devices())
    tenant.remove_sites(5)
    tenant.add_devices(10)
    fake.arm_fault(
        {
            "match": {"path": PATHS["inventory"]},
            "when": {"after": 4},
            "action": {
                "kind": "status",
                "status": 403,
                "body": {"message": "Permission denied"},
            },
        }
    )

    with pytest.raises(PermissionDenied):
        await sync_tenant(client, store, limit=25)

    assert (store.sites_panel(), store.devices()) == before
    assert [run.outcome for run in store.runs()] == ["complete", "failed"]
    assert store.runs()[-1].error == "PermissionDenied"


def first_pages_then(fake: FakeCentral, left: int) -> None:
    """A day budget that leaves ``left`` calls once the next five first pages are in.

    Only the day is enforced from now on (these tests' client is not paced).
    """
    fake.configure(
        rate_limit_enabled=True,
        per_second_limit=1_000_000,
        per_day_limit=len(PATHS) + left,
    )


def list_sizes(tenant: Tenant) -> dict[str, int]:
    return {
        "sites": len(tenant.sites),
        "inventory": len(tenant.devices),
        **{kind: len(entries) for kind, entries in tenant.monitoring.items()},
    }


async def test_a_sync_the_days_budget_cannot_finish_stops_before_spending_it(
    client: CentralClient, store: Store, tenant: Tenant, fake: FakeCentral
) -> None:
    first = await sync_tenant(client, store, limit=25)
    before = (store.sites_panel(), store.devices())
    needed = sum(math.ceil(n / 25) - 1 for n in list_sizes(tenant).values())
    first_pages_then(fake, left=needed - 1)

    with pytest.raises(DailyBudgetTooSmall) as caught:
        await sync_tenant(client, store, limit=25)

    assert (caught.value.needed, caught.value.remaining) == (needed, needed - 1)
    assert sum(requests_per_list(fake).values()) == first.run.requests + len(PATHS)
    assert (store.sites_panel(), store.devices()) == before
    assert store.runs()[-1].error == "DailyBudgetTooSmall"


async def test_a_sync_the_days_budget_just_covers_goes_ahead(
    client: CentralClient, store: Store, tenant: Tenant, fake: FakeCentral
) -> None:
    needed = sum(math.ceil(n / 25) - 1 for n in list_sizes(tenant).values())
    first_pages_then(fake, left=needed)

    result = await sync_tenant(client, store, limit=25)

    assert result.run.outcome == "complete"
    assert stored_devices(store) == expected_devices(tenant)


async def test_a_failure_inside_the_commit_leaves_the_previous_snapshot(
    client: CentralClient,
    store: Store,
    tenant: Tenant,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await sync_tenant(client, store)
    store.map_site("3", "Fjord Dental")
    before = (store.sites_panel(), store.devices())
    tenant.remove_sites(10)
    original = SnapshotWriter._merge_devices

    def fail_after_replacing(writer: SnapshotWriter, *args: Any, **kwargs: Any) -> None:
        original(writer, *args, **kwargs)  # the sites and devices are already swapped
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(SnapshotWriter, "_merge_devices", fail_after_replacing)

    with pytest.raises(sqlite3.OperationalError, match="disk is full"):
        await sync_tenant(client, store)

    assert (store.sites_panel(), store.devices()) == before
    assert store.runs()[-1].outcome == "failed"


async def test_a_total_that_changes_mid_sync_marks_the_snapshot_partial(
    client: CentralClient, store: Store, tenant: Tenant
) -> None:
    await sync_tenant(client, store)
    first = stored_devices(store)

    class GrowingInventory:
        """Central gains devices while the sync reads the inventory."""

        def __getattr__(self, name: str) -> Any:
            return getattr(client, name)

        async def list_inventory_records(self, **kwargs: Any) -> InventoryRecordsPage:
            page = await client.list_inventory_records(**kwargs)
            if kwargs["offset"] == 0:
                tenant.add_devices(7, "aps")
            return page

    result = await sync_tenant(GrowingInventory(), store, limit=50)

    inventory = result.lists["inventory"]
    assert result.partial
    assert inventory.partial
    assert "the total changed from 300 to 307 mid-read" in inventory.reasons
    assert set(first) <= set(stored_devices(store))  # nothing dropped on its evidence


async def test_the_next_sync_after_a_partial_one_is_complete_again(
    client: CentralClient, store: Store, tenant: Tenant
) -> None:
    await sync_tenant(client, store, limit=50, max_pages=2)

    result = await sync_tenant(client, store)

    assert result.run.outcome == "complete"
    assert stored_devices(store) == expected_devices(tenant)


async def test_the_page_cap_stops_a_long_list_and_marks_it_partial(
    client: CentralClient, store: Store, fake: FakeCentral
) -> None:
    result = await sync_tenant(client, store, limit=50, max_pages=2)

    assert result.partial
    assert requests_per_list(fake)["inventory"] == 2
    assert (
        result.lists["inventory"].reasons[0]
        == "stopped at the cap of 2 pages (300 items)"
    )
    assert len(store.devices()) == 100


async def test_progress_reports_every_list_up_to_its_total(
    client: CentralClient, store: Store, tenant: Tenant
) -> None:
    seen: dict[str, tuple[int, int | None]] = {}

    await sync_tenant(
        client,
        store,
        limit=50,
        progress=lambda name, got, total: seen.update({name: (got, total)}),
    )

    assert seen["sites"] == (40, 40)
    assert seen["inventory"] == (300, 300)
    assert set(seen) == set(PATHS)
