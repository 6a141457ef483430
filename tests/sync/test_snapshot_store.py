"""The SQLite store: schema checks, snapshots, gone sites, the mapping."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from sync_support import Snapshot, StepClock

from connector.store import (
    APPLICATION_ID,
    SCHEMA_VERSION,
    InventoryRow,
    MonitoringRow,
    SiteRow,
    SnapshotWriter,
    Store,
    StoreError,
    UnknownSite,
)
from connector.tokens import SqliteTokenStore


def test_a_new_file_gets_the_schema_version_and_application_id(db_path: Path) -> None:
    Store.open(db_path).close()

    with sqlite3.connect(db_path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        assert db.execute("PRAGMA application_id").fetchone() == (APPLICATION_ID,)


def test_a_file_holding_only_the_token_stores_tables_is_adopted(
    db_path: Path,
) -> None:
    # A client opened on the file before the first sync: its store made its tables.
    tokens = SqliteTokenStore(db_path)
    tokens.save_recent_calls("client-a", [1.0])
    assert tokens.load("client-a") is None

    with Store.open(db_path) as store:
        assert store.sites_panel() == []
    assert tokens.load_recent_calls("client-a") == (1.0,)


def test_a_file_that_is_not_a_database_is_refused_and_left_alone(db_path: Path) -> None:
    db_path.write_bytes(b"client_id,site\nnot,sqlite\n" * 20)
    before = db_path.read_bytes()

    with pytest.raises(StoreError, match=r"is not an SQLite database.*point --db"):
        Store.open(db_path)

    assert db_path.read_bytes() == before


def test_another_programs_database_is_refused_and_left_alone(db_path: Path) -> None:
    with sqlite3.connect(db_path) as db:
        db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY)")
    db.close()
    before = db_path.read_bytes()

    with pytest.raises(StoreError, match="belongs to another program"):
        Store.open(db_path)

    assert db_path.read_bytes() == before


def test_a_store_of_another_schema_version_is_refused_and_left_alone(
    db_path: Path,
) -> None:
    Store.open(db_path).close()
    with sqlite3.connect(db_path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    before = db_path.read_bytes()

    with pytest.raises(StoreError, match=r"schema version 2 .* this version reads 1"):
        Store.open(db_path)

    assert db_path.read_bytes() == before


def test_opening_without_create_needs_an_existing_file(db_path: Path) -> None:
    with pytest.raises(
        StoreError, match=r"no database at .*run `central-connector sync`"
    ):
        Store.open(db_path, create=False)

    assert not db_path.exists()


def test_a_database_in_a_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        Store.open(tmp_path / "absent" / "c.db")


def test_a_sync_fills_sites_and_devices_with_monitoring_data(
    store: Store, snapshot: Snapshot
) -> None:
    run = snapshot.commit(store)

    devices = {device.serial: device for device in store.devices()}
    assert run.outcome == "complete"
    assert (run.sites, run.devices, run.new_sites, run.unknown_status) == (3, 4, 3, 1)
    assert devices["CNAP000001"].site_id == 1
    assert devices["CNAP000001"].status == "up"
    assert devices["CNAP000001"].firmware == "10.4"
    assert devices["CNSW000002"].status == "down"
    assert devices["CNSW000002"].model == "6300M"


def test_a_device_absent_from_monitoring_keeps_an_unknown_status(
    store: Store, snapshot: Snapshot
) -> None:
    snapshot.commit(store)

    (device,) = [d for d in store.devices() if d.serial == "CNAP000004"]

    assert device.status == "unknown"
    assert (device.site_id, device.site_name, device.firmware) == (None, None, None)


def test_a_site_missing_from_a_complete_read_is_marked_gone_not_dropped(
    store: Store, snapshot: Snapshot, clock: StepClock
) -> None:
    snapshot.commit(store)
    clock.advance(3600)

    run = replace(snapshot, sites=snapshot.sites[:2]).commit(store)

    panel = {row.site_id: row for row in store.sites_panel()}
    assert run.gone_sites == 1
    assert run.sites == 2
    assert panel[3].gone_since == "2026-01-05T13:00:00+00:00"
    assert panel[1].gone_since is None


def test_a_gone_site_that_returns_is_present_again(
    store: Store, snapshot: Snapshot
) -> None:
    snapshot.commit(store)
    replace(snapshot, sites=snapshot.sites[:2]).commit(store)

    run = snapshot.commit(store)

    assert run.sites == 3
    assert all(row.gone_since is None for row in store.sites_panel())


def test_a_partial_read_marks_no_site_gone_and_drops_no_device(
    store: Store, snapshot: Snapshot
) -> None:
    snapshot.commit(store)

    run = Snapshot(
        sites=snapshot.sites[:1], inventory=snapshot.inventory[:1], monitoring=[]
    ).commit(store, complete=False)

    devices = {device.serial: device for device in store.devices()}
    assert run.outcome == "partial"
    assert run.gone_sites == 0
    assert len(devices) == 4
    assert devices["CNAP000001"].status == "up"  # kept from the previous snapshot


def test_mappings_survive_a_re_sync(store: Store, snapshot: Snapshot) -> None:
    snapshot.commit(store)
    store.map_site("Harbour Clinic", "Fjord Dental")

    snapshot.commit(store)
    replace(snapshot, sites=snapshot.sites[1:]).commit(store)

    panel = {row.site_id: row for row in store.sites_panel()}
    assert panel[1].customer == "Fjord Dental"
    assert panel[1].gone_since is not None


def test_a_failure_halfway_through_a_commit_leaves_the_previous_snapshot(
    store: Store, snapshot: Snapshot, monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshot.commit(store)
    store.map_site("2", "Polar Freight")
    before = (store.sites_panel(), store.devices())

    def explode(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(SnapshotWriter, "_merge_devices", explode)
    writer = store.start_sync()
    writer.add_sites([SiteRow(9, "Replacement")])
    writer.add_inventory([InventoryRow("CNAP999999", "ap", "iap")])
    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        writer.commit(
            sites_complete=True, inventory_complete=True, monitoring_complete=True
        )

    assert (store.sites_panel(), store.devices()) == before


def test_a_failed_sync_is_recorded_and_changes_no_snapshot(
    store: Store, snapshot: Snapshot
) -> None:
    snapshot.commit(store)
    before = (store.sites_panel(), store.devices())

    writer = store.start_sync()
    writer.add_sites([SiteRow(9, "Replacement")])
    run = writer.fail("UpstreamError", requests=3)

    assert (store.sites_panel(), store.devices()) == before
    assert (run.outcome, run.error, run.requests) == ("failed", "UpstreamError", 3)
    assert [r.outcome for r in store.runs()] == ["complete", "failed"]


def test_the_panel_counts_devices_per_site_and_shows_unmapped_sites(
    store: Store, snapshot: Snapshot
) -> None:
    snapshot.commit(store)
    store.map_site("1", "Fjord Dental")

    panel = [(row.name, row.devices, row.customer) for row in store.sites_panel()]

    assert panel == [
        ("Harbour Clinic", 1, "Fjord Dental"),
        ("Internal Lab", 1, None),
        ("Northside Depot", 1, None),
    ]


def test_a_customer_sees_only_its_mapped_sites_and_their_devices(
    store: Store, snapshot: Snapshot
) -> None:
    snapshot.commit(store)
    store.map_site("Harbour Clinic", "Fjord Dental")
    store.map_site("Northside Depot", "Polar Freight")

    view = store.customer_view("Fjord Dental")

    assert [site.name for site in view.sites] == ["Harbour Clinic"]
    assert [d.serial for d in view.sites[0].devices] == ["CNAP000001"]


def test_an_unmapped_site_appears_in_no_customer_view(
    store: Store, snapshot: Snapshot
) -> None:
    snapshot.commit(store)
    store.map_site("Internal Lab", "Fjord Dental")

    site, previous = store.unmap_site("internal lab")

    assert (site.site_id, previous) == (3, "Fjord Dental")
    assert store.customer_view("Fjord Dental").sites == []
    assert store.customers() == []


def test_remapping_a_site_reports_the_previous_customer(
    store: Store, snapshot: Snapshot
) -> None:
    snapshot.commit(store)
    store.map_site("1", "Fjord Dental")

    site, previous = store.map_site("1", "Polar Freight")

    assert (site.name, previous) == ("Harbour Clinic", "Fjord Dental")
    assert store.customers() == ["Polar Freight"]


@pytest.mark.parametrize(
    ("ref", "site_id"),
    [
        pytest.param("2", 2, id="by-id"),
        pytest.param("Northside Depot", 2, id="by-name"),
        pytest.param("  northside depot ", 2, id="by-name-in-another-case"),
    ],
)
def test_a_site_is_found_by_id_or_name(
    store: Store, snapshot: Snapshot, ref: str, site_id: int
) -> None:
    snapshot.commit(store)

    assert store.find_site(ref).site_id == site_id


def test_a_numeric_name_is_found_when_no_id_matches(store: Store) -> None:
    Snapshot(sites=[SiteRow(7, "2024")]).commit(store)

    assert store.find_site("2024").site_id == 7


def test_an_unknown_site_is_named_in_the_error(
    store: Store, snapshot: Snapshot
) -> None:
    snapshot.commit(store)

    with pytest.raises(
        UnknownSite, match=r"no site 'Atlantis' .*`central-connector sites`"
    ):
        store.map_site("Atlantis", "Fjord Dental")

    assert store.customers() == []


def test_a_name_shared_by_two_present_sites_asks_for_the_id(store: Store) -> None:
    Snapshot(sites=[SiteRow(4, "Depot"), SiteRow(5, "depot")]).commit(store)

    with pytest.raises(UnknownSite, match=r"matches several sites .*ids 4, 5"):
        store.find_site("DEPOT")


def test_a_present_site_wins_over_a_gone_one_of_the_same_name(store: Store) -> None:
    Snapshot(sites=[SiteRow(4, "Depot")]).commit(store)
    Snapshot(sites=[SiteRow(5, "Depot")]).commit(store)

    assert store.find_site("Depot").site_id == 5


@pytest.mark.parametrize(
    "customer",
    [
        pytest.param("   ", id="blank"),
        pytest.param("x" * 201, id="too-long"),
        pytest.param("Fjord\nDental", id="control-character"),
    ],
)
def test_a_bad_customer_name_is_refused(
    store: Store, snapshot: Snapshot, customer: str
) -> None:
    snapshot.commit(store)

    with pytest.raises(StoreError, match="customer"):
        store.map_site("1", customer)

    assert store.customers() == []


def test_devices_match_sites_by_name_and_skip_gone_sites(store: Store) -> None:
    Snapshot(sites=[SiteRow(4, "Depot")]).commit(store)

    Snapshot(
        sites=[SiteRow(5, "Depot")],
        inventory=[InventoryRow("CNSW000010", "switch", "switch")],
        monitoring=[MonitoringRow("CNSW000010", site_name="Depot")],
    ).commit(store)

    assert store.devices()[0].site_id == 5
