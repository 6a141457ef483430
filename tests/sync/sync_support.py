"""Helpers the sync tests share: a hand-moved clock and snapshot builders."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from click.testing import CliRunner, Result

from connector.cli import main
from connector.store import InventoryRow, MonitoringRow, SiteRow, Store, SyncRun
from fake_central import FakeCentral, Tenant

START = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


@dataclass
class StepClock:
    """A wall clock the test moves by hand."""

    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Snapshot:
    """One sync's worth of rows, written through the store's snapshot writer."""

    sites: list[SiteRow] = field(default_factory=list)
    inventory: list[InventoryRow] = field(default_factory=list)
    monitoring: list[MonitoringRow] = field(default_factory=list)

    def commit(self, store: Store, *, complete: bool = True) -> SyncRun:
        writer = store.start_sync()
        writer.add_sites(self.sites)
        writer.add_inventory(self.inventory)
        writer.add_monitoring(self.monitoring)
        return writer.commit(
            sites_complete=complete,
            inventory_complete=complete,
            monitoring_complete=complete,
        )


# --- the fake's ground truth --------------------------------------------------

PATHS = {
    "sites": "/central/v2/sites",
    "inventory": "/platform/device_inventory/v1/devices",
    "aps": "/monitoring/v2/aps",
    "switches": "/monitoring/v1/switches",
    "gateways": "/monitoring/v1/gateways",
}
KIND_OF_TYPE = {"iap": "ap", "ap": "ap", "switch": "switch", "gateway": "gateway"}


def expected_devices(tenant: Tenant) -> dict[str, tuple[object, ...]]:
    """Serial -> (kind, model, mac, site id, site name, status, firmware)."""
    site_ids = {site["site_name"]: site["site_id"] for site in tenant.sites}
    monitored = {
        entry["serial"]: entry
        for entries in tenant.monitoring.values()
        for entry in entries
    }
    expected: dict[str, tuple[object, ...]] = {}
    for device in tenant.devices:
        entry = monitored.get(device["serial"], {})
        site = entry.get("site")
        expected[device["serial"]] = (
            KIND_OF_TYPE[device["device_type"].lower()],
            device["model"],
            device["macaddr"],
            site_ids.get(site) if site else None,
            site,
            entry["status"].lower() if entry else "unknown",
            entry.get("firmware_version"),
        )
    return expected


def stored_devices(store: Store) -> dict[str, tuple[object, ...]]:
    """The same view of what the store holds."""
    return {
        d.serial: (d.kind, d.model, d.mac, d.site_id, d.site_name, d.status, d.firmware)
        for d in store.devices()
    }


def expected_sites(tenant: Tenant) -> dict[int, str]:
    return {site["site_id"]: site["site_name"] for site in tenant.sites}


def stored_sites(store: Store) -> dict[int, str]:
    """Sites the store holds as present (not gone)."""
    return {row.site_id: row.name for row in store.sites_panel() if not row.gone_since}


def requests_per_list(fake: FakeCentral) -> dict[str, int]:
    """How many requests the fake saw on each list endpoint."""
    counts = dict.fromkeys(PATHS, 0)
    for entry in fake.journal:
        for name, path in PATHS.items():
            if entry.path == path:
                counts[name] += 1
    return counts


# --- the command line -----------------------------------------------------------


@dataclass
class Cli:
    """Runs ``central-connector`` in-process with fixed common options."""

    options: list[str]
    results: list[Result] = field(default_factory=list)

    def __call__(self, *args: str) -> Result:
        result = CliRunner().invoke(main, [*self.options, *args])
        self.results.append(result)
        if result.exception is not None and not isinstance(
            result.exception, SystemExit
        ):
            raise result.exception
        return result

    def json(self, *args: str) -> Any:
        """Run with ``--json``; the one JSON document it printed."""
        return json.loads(self("--json", *args).stdout)

    def everything_printed(self) -> str:
        return "\n".join(r.stdout + r.stderr for r in self.results)
