"""One sync's snapshot on its way into the store: staging, then one commit.

:class:`SnapshotWriter` stages the rows of each list as pages arrive, in temporary
tables private to the store's connection and outside the file, then swaps them in
as the new snapshot with one transaction (:meth:`SnapshotWriter.commit`), or records
the sync as failed (:meth:`SnapshotWriter.fail`) and leaves the snapshot alone.
Staging outside the file keeps it unlocked while pages arrive, so the token store
sharing the file can save a rotated pair at any moment. :mod:`connector.store`
creates writers (``Store.start_sync``) and re-exports the row types.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple

__all__ = [
    "STAGING",
    "STAGING_TABLES",
    "InventoryRow",
    "MonitoringRow",
    "SiteRow",
    "SnapshotWriter",
    "SyncRun",
    "read_run",
    "run_from_row",
    "transaction",
]

STAGING = """
CREATE TEMP TABLE stage_sites (
    site_id INTEGER PRIMARY KEY, name TEXT NOT NULL,
    address TEXT, city TEXT, state TEXT, country TEXT, zipcode TEXT,
    latitude TEXT, longitude TEXT
);
CREATE TEMP TABLE stage_inventory (
    serial TEXT PRIMARY KEY, kind TEXT NOT NULL, device_type TEXT NOT NULL,
    model TEXT, mac TEXT, part_number TEXT
) WITHOUT ROWID;
CREATE TEMP TABLE stage_monitoring (
    serial TEXT PRIMARY KEY, name TEXT, site_name TEXT,
    status TEXT, firmware TEXT, model TEXT, mac TEXT
) WITHOUT ROWID;
CREATE TEMP TABLE site_ids (name TEXT PRIMARY KEY, site_id INTEGER) WITHOUT ROWID;
"""
"""Staging, outside the file. Keyed by serial, so that the commit reads the devices
in serial order and appends them to ``devices`` instead of inserting at random."""


STAGING_TABLES = ("stage_sites", "stage_inventory", "stage_monitoring", "site_ids")

_NEW_DEVICES = """
INSERT OR REPLACE INTO main.devices
SELECT i.serial, i.kind, i.device_type,
       coalesce(i.model, m.model), coalesce(i.mac, m.mac), i.part_number,
       CASE WHEN m.serial IS NOT NULL THEN m.name WHEN :keep THEN old.name END,
       CASE WHEN m.serial IS NOT NULL THEN s.site_id WHEN :keep THEN old.site_id END,
       CASE WHEN m.serial IS NOT NULL THEN m.site_name
            WHEN :keep THEN old.site_name END,
       coalesce(lower(m.status), CASE WHEN :keep THEN old.status END, 'unknown'),
       CASE WHEN m.serial IS NOT NULL THEN m.firmware WHEN :keep THEN old.firmware END,
       :stamp
FROM temp.stage_inventory AS i
LEFT JOIN temp.stage_monitoring AS m ON m.serial = i.serial
LEFT JOIN temp.site_ids AS s ON s.name = m.site_name
LEFT JOIN main.devices AS old ON old.serial = i.serial
"""
"""The new snapshot's devices: inventory joined with monitoring by serial, and with
the present site of the name monitoring gives. With ``:keep``, a device monitoring
did not report keeps its previous name, site, status and firmware."""


class SiteRow(NamedTuple):
    """One site as Central lists it."""

    site_id: int
    name: str
    address: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    zipcode: str | None = None
    latitude: str | None = None
    longitude: str | None = None


class InventoryRow(NamedTuple):
    """One inventory device, of kind ``ap``, ``switch``, ``gateway`` or ``other``."""

    serial: str
    kind: str
    device_type: str
    model: str | None = None
    mac: str | None = None
    part_number: str | None = None


class MonitoringRow(NamedTuple):
    """One device as a monitoring list (``aps``, ``switches``, ``gateways``) has it."""

    serial: str
    name: str | None = None
    site_name: str | None = None
    status: str | None = None
    firmware: str | None = None
    model: str | None = None
    mac: str | None = None


@dataclass(frozen=True)
class SyncRun:
    """One recorded sync."""

    run_id: int
    started_at: str
    finished_at: str | None
    outcome: str
    sites: int | None
    devices: int | None
    new_sites: int | None
    gone_sites: int | None
    unknown_status: int | None
    requests: int | None
    error: str | None
    detail: dict[str, Any]


class SnapshotWriter:
    """Stages one sync's lists, then commits them in one transaction or fails."""

    def __init__(
        self, connection: sqlite3.Connection, run_id: int, stamp: Callable[[], str]
    ) -> None:
        self._db = connection
        self._stamp = stamp
        self.run_id = run_id

    def add_sites(self, rows: Iterable[SiteRow]) -> None:
        self._stage(
            "INSERT OR REPLACE INTO temp.stage_sites VALUES (?,?,?,?,?,?,?,?,?)", rows
        )

    def add_inventory(self, rows: Iterable[InventoryRow]) -> None:
        self._stage(
            "INSERT OR REPLACE INTO temp.stage_inventory VALUES (?,?,?,?,?,?)", rows
        )

    def add_monitoring(self, rows: Iterable[MonitoringRow]) -> None:
        self._stage(
            "INSERT OR REPLACE INTO temp.stage_monitoring VALUES (?,?,?,?,?,?,?)",
            rows,
        )

    def commit(
        self,
        *,
        sites_complete: bool,
        inventory_complete: bool,
        monitoring_complete: bool,
        requests: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> SyncRun:
        """Swap the staged lists in as the new snapshot, all or nothing.

        An incomplete list only adds and updates: sites it misses are not marked
        gone, devices it misses are kept, and devices without a monitoring entry
        keep the site, status and firmware they had.
        """
        partial = not (sites_complete and inventory_complete and monitoring_complete)
        stamp = self._stamp()
        with transaction(self._db):
            new_sites, gone_sites = self._merge_sites(stamp, mark_gone=sites_complete)
            self._merge_devices(
                stamp, replace=inventory_complete, keep_status=not monitoring_complete
            )
            self._finish(
                "partial" if partial else "complete",
                stamp,
                new_sites=new_sites,
                gone_sites=gone_sites,
                requests=requests,
                detail=detail,
            )
        return read_run(self._db, self.run_id)

    def fail(
        self,
        error: str,
        *,
        requests: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> SyncRun:
        """Record the sync as failed; the snapshot and the mapping stay as they were."""
        with transaction(self._db):
            self._db.execute(
                "UPDATE sync_runs SET outcome = 'failed', finished_at = ?, error = ?, "
                "requests = ?, detail = ? WHERE run_id = ?",
                (self._stamp(), error, requests, _dump(detail), self.run_id),
            )
        return read_run(self._db, self.run_id)

    def _stage(self, sql: str, rows: Iterable[tuple[Any, ...]]) -> None:
        self._db.execute("BEGIN")
        try:
            self._db.executemany(sql, rows)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _merge_sites(self, stamp: str, *, mark_gone: bool) -> tuple[int, int]:
        (new_sites,) = self._db.execute(
            "SELECT count(*) FROM temp.stage_sites WHERE site_id NOT IN "
            "(SELECT site_id FROM main.sites)"
        ).fetchone()
        gone_sites = 0
        if mark_gone:
            gone_sites = self._db.execute(
                "UPDATE main.sites SET gone_since = ? WHERE gone_since IS NULL "
                "AND site_id NOT IN (SELECT site_id FROM temp.stage_sites)",
                (stamp,),
            ).rowcount
        self._db.execute(
            """
            INSERT INTO main.sites
            SELECT site_id, name, address, city, state, country, zipcode,
                   latitude, longitude, :stamp, :stamp, NULL
            FROM temp.stage_sites WHERE true
            ON CONFLICT (site_id) DO UPDATE SET
                name = excluded.name, address = excluded.address,
                city = excluded.city, state = excluded.state,
                country = excluded.country, zipcode = excluded.zipcode,
                latitude = excluded.latitude, longitude = excluded.longitude,
                last_seen = excluded.last_seen, gone_since = NULL
            """,
            {"stamp": stamp},
        )
        return int(new_sites), gone_sites

    def _merge_devices(self, stamp: str, *, replace: bool, keep_status: bool) -> None:
        self._db.execute(
            "INSERT INTO temp.site_ids SELECT name, min(site_id) FROM main.sites "
            "WHERE gone_since IS NULL GROUP BY name"
        )
        if replace and not keep_status:
            # The fast path: nothing of the old snapshot is needed any more.
            self._db.execute("DELETE FROM main.devices")
        elif replace:
            # Keep the rows of staged devices: the new ones may fall back on them.
            self._db.execute(
                "DELETE FROM main.devices "
                "WHERE serial NOT IN (SELECT serial FROM temp.stage_inventory)"
            )
        self._db.execute(_NEW_DEVICES, {"stamp": stamp, "keep": keep_status})

    def _finish(
        self,
        outcome: str,
        stamp: str,
        *,
        new_sites: int,
        gone_sites: int,
        requests: int | None,
        detail: dict[str, Any] | None,
    ) -> None:
        (sites,) = self._db.execute(
            "SELECT count(*) FROM main.sites WHERE gone_since IS NULL"
        ).fetchone()
        devices, unknown = self._db.execute(
            "SELECT count(*), count(*) FILTER (WHERE status = 'unknown') "
            "FROM main.devices"
        ).fetchone()
        self._db.execute(
            """
            UPDATE sync_runs SET outcome = ?, finished_at = ?, sites = ?, devices = ?,
                new_sites = ?, gone_sites = ?, unknown_status = ?, requests = ?,
                detail = ?
            WHERE run_id = ?
            """,
            (
                outcome,
                stamp,
                sites,
                devices,
                new_sites,
                gone_sites,
                unknown,
                requests,
                _dump(detail),
                self.run_id,
            ),
        )


@contextmanager
def transaction(connection: sqlite3.Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, or ``ROLLBACK`` on any exception."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def read_run(connection: sqlite3.Connection, run_id: int) -> SyncRun:
    """The recorded run ``run_id``."""
    row = connection.execute("SELECT * FROM sync_runs WHERE run_id = ?", (run_id,))
    return run_from_row(row.fetchone())


def _dump(detail: dict[str, Any] | None) -> str | None:
    return None if detail is None else json.dumps(detail, sort_keys=True)


def run_from_row(row: tuple[Any, ...]) -> SyncRun:
    """A ``sync_runs`` row (all columns, in table order) as a :class:`SyncRun`."""
    *values, detail = row
    fields = dict(zip(_RUN_COLUMNS, values, strict=True))
    return SyncRun(**fields, detail=json.loads(detail) if detail else {})


_RUN_COLUMNS = (
    "run_id",
    "started_at",
    "finished_at",
    "outcome",
    "sites",
    "devices",
    "new_sites",
    "gone_sites",
    "unknown_status",
    "requests",
    "error",
)
"""The columns of ``sync_runs`` before ``detail``, in table order."""
