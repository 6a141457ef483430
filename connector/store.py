"""The embedded SQLite store: sites, devices, the site-to-customer mapping, sync runs.

One file holds everything the connector keeps, the rotated tokens included:
:class:`connector.SqliteTokenStore` opened on the same path keeps its own table.

Tables (``PRAGMA user_version`` is :data:`SCHEMA_VERSION`, ``PRAGMA application_id``
is :data:`APPLICATION_ID`):

- ``sites``: every site Central ever listed; ``gone_since`` is set when a complete
  read no longer lists it and cleared if it comes back. Sites are never deleted.
- ``devices``: the latest snapshot of the device inventory, each device with the site,
  status and firmware its monitoring entry reported (``unknown`` status if it has none).
- ``site_customers``: which customer a site belongs to. Only the CLI's ``map`` and
  ``unmap`` write it; a sync never does, so mappings survive every re-sync.
- ``sync_runs``: one row per sync, with its start, end, counts and outcome.

A sync (:meth:`Store.start_sync`, then :mod:`connector._snapshot`) stages what it reads
outside the file and swaps it in with one transaction. A sync that fails at any point
leaves the previous snapshot and every mapping as they were.

A file that is not an SQLite database, or holds another schema version or another
program's tables, raises :class:`StoreError` and is left exactly as it was.
"""

from __future__ import annotations

import os
import sqlite3
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from connector._snapshot import (
    STAGING,
    STAGING_TABLES,
    InventoryRow,
    MonitoringRow,
    SiteRow,
    SnapshotWriter,
    SyncRun,
    run_from_row,
    transaction,
)
from connector.errors import CentralError
from connector.tokens import SqliteTokenStore

__all__ = [
    "APPLICATION_ID",
    "SCHEMA_VERSION",
    "CustomerSite",
    "CustomerView",
    "DeviceRow",
    "InventoryRow",
    "MonitoringRow",
    "SitePanelRow",
    "SiteRef",
    "SiteRow",
    "SnapshotWriter",
    "Store",
    "StoreError",
    "SyncRun",
    "UnknownSite",
]

SCHEMA_VERSION = 1
APPLICATION_ID = 0x43434E43
"""``CCNC``: marks the file as this connector's, next to the schema version."""

_SHARED_TABLES = frozenset(SqliteTokenStore.TABLES)
"""The token store's tables, which may be in the file before the first sync."""

MAX_CUSTOMER_LENGTH = 200

_SCHEMA = """
CREATE TABLE sites (
    site_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    address TEXT, city TEXT, state TEXT, country TEXT, zipcode TEXT,
    latitude TEXT, longitude TEXT,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    gone_since TEXT
);
CREATE INDEX sites_by_name ON sites (name);
CREATE TABLE devices (
    serial TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    device_type TEXT NOT NULL,
    model TEXT, mac TEXT, part_number TEXT, name TEXT,
    site_id INTEGER, site_name TEXT,
    status TEXT NOT NULL,
    firmware TEXT,
    synced_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX devices_by_site ON devices (site_id);
CREATE TABLE site_customers (
    site_id INTEGER PRIMARY KEY,
    customer TEXT NOT NULL,
    mapped_at TEXT NOT NULL
);
CREATE INDEX site_customers_by_customer ON site_customers (customer);
CREATE TABLE sync_runs (
    run_id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    outcome TEXT NOT NULL,
    sites INTEGER, devices INTEGER, new_sites INTEGER, gone_sites INTEGER,
    unknown_status INTEGER, requests INTEGER,
    error TEXT,
    detail TEXT
);
"""

_SITES_BY_NAME = (
    "SELECT site_id, name, gone_since FROM sites WHERE name = ? ORDER BY site_id",
    "SELECT site_id, name, gone_since FROM sites "
    "WHERE name = ? COLLATE NOCASE ORDER BY site_id",
)
"""Exact name first, then the same name in another case."""


class StoreError(CentralError, ValueError):
    """The database file or a value for it is unusable; nothing in it was changed."""


class UnknownSite(StoreError, LookupError):
    """No site matches the name or id given."""


# --- rows out -----------------------------------------------------------------


class DeviceRow(NamedTuple):
    """One device of the snapshot."""

    serial: str
    kind: str
    device_type: str
    model: str | None
    mac: str | None
    part_number: str | None
    name: str | None
    site_id: int | None
    site_name: str | None
    status: str
    firmware: str | None


class SiteRef(NamedTuple):
    """A site found by name or id."""

    site_id: int
    name: str
    gone_since: str | None


class SitePanelRow(NamedTuple):
    """One line of the mapping panel."""

    site_id: int
    name: str
    devices: int
    customer: str | None
    gone_since: str | None


@dataclass(frozen=True)
class CustomerSite:
    """A site mapped to a customer, with its devices."""

    site_id: int
    name: str
    gone_since: str | None
    devices: list[DeviceRow]


@dataclass(frozen=True)
class CustomerView:
    """What one customer sees: its mapped sites and their devices."""

    customer: str
    sites: list[CustomerSite]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Store:
    """The connector's SQLite file; open it with :meth:`open`."""

    def __init__(
        self, connection: sqlite3.Connection, path: Path, now: Callable[[], datetime]
    ) -> None:
        self._db = connection
        self.path = path
        self._now = now

    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        create: bool = True,
        now: Callable[[], datetime] = _utc_now,
    ) -> Store:
        """Open (and, when new, initialise) the store at ``path``.

        Raises :class:`StoreError` when the file is missing and ``create`` is false,
        is not an SQLite database, or holds another schema; the file is not touched.
        """
        path = Path(path)
        if path.exists() and not path.is_file():
            raise StoreError(
                f"database path {str(path)!r} is not a file; pass --db FILE"
            )
        if not path.parent.is_dir():
            raise StoreError(
                f"the folder of database path {str(path)!r} does not exist; "
                "create it or pass another --db FILE"
            )
        if not create and not path.exists():
            raise StoreError(
                f"no database at {str(path)!r}; run `central-connector sync` first "
                "or point --db at the file a sync wrote"
            )

        if not path.exists():
            _create_private(path)
        connection = sqlite3.connect(path, isolation_level=None, timeout=10.0)
        try:
            _prepare(connection, path)
        except BaseException:
            connection.close()
            raise
        return cls(connection, path, now)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- sync -----------------------------------------------------------------

    def start_sync(self) -> SnapshotWriter:
        """Record a running sync and give it fresh staging tables."""
        # The previous sync's staging goes now, not at its end: dropping 100,000
        # rows takes a moment the previous sync's caller did not have to wait for.
        for table in STAGING_TABLES:
            self._db.execute(f"DROP TABLE IF EXISTS temp.{table}")
        self._db.executescript(STAGING)

        started = self._stamp()
        cursor = self._db.execute(
            "INSERT INTO sync_runs (started_at, outcome) VALUES (?, 'running')",
            (started,),
        )
        assert cursor.lastrowid is not None
        return SnapshotWriter(self._db, cursor.lastrowid, self._stamp)

    def last_run(self) -> SyncRun | None:
        """The latest sync, whatever its outcome."""
        row = self._db.execute(
            "SELECT * FROM sync_runs ORDER BY run_id DESC LIMIT 1"
        ).fetchone()
        return None if row is None else run_from_row(row)

    def runs(self) -> list[SyncRun]:
        """Every recorded sync, oldest first."""
        rows = self._db.execute("SELECT * FROM sync_runs ORDER BY run_id").fetchall()
        return [run_from_row(row) for row in rows]

    # --- reading the snapshot -----------------------------------------------

    def sites_panel(self) -> list[SitePanelRow]:
        """Every site, its device count and its customer (``None``: unmapped)."""
        rows = self._db.execute(
            """
            SELECT s.site_id, s.name, count(d.serial), c.customer, s.gone_since
            FROM sites AS s
            LEFT JOIN devices AS d ON d.site_id = s.site_id
            LEFT JOIN site_customers AS c ON c.site_id = s.site_id
            GROUP BY s.site_id
            ORDER BY s.name COLLATE NOCASE, s.site_id
            """
        ).fetchall()
        return [SitePanelRow(*row) for row in rows]

    def devices(self, site_id: int | None = None) -> list[DeviceRow]:
        """Devices of the snapshot, all of them or one site's, by serial."""
        if site_id is None:
            rows = self._db.execute(
                "SELECT serial, kind, device_type, model, mac, part_number, name, "
                "site_id, site_name, status, firmware FROM devices ORDER BY serial"
            ).fetchall()
        else:
            rows = self._db.execute(
                "SELECT serial, kind, device_type, model, mac, part_number, name, "
                "site_id, site_name, status, firmware FROM devices "
                "WHERE site_id = ? ORDER BY serial",
                (site_id,),
            ).fetchall()
        return [DeviceRow(*row) for row in rows]

    def customer_view(self, customer: str) -> CustomerView:
        """The sites mapped to ``customer`` and their devices; unmapped sites never."""
        customer = _clean_customer(customer)
        rows = self._db.execute(
            """
            SELECT s.site_id, s.name, s.gone_since
            FROM site_customers AS c JOIN sites AS s ON s.site_id = c.site_id
            WHERE c.customer = ?
            ORDER BY s.name COLLATE NOCASE, s.site_id
            """,
            (customer,),
        ).fetchall()
        sites = [
            CustomerSite(site_id, name, gone, self.devices(site_id))
            for site_id, name, gone in rows
        ]
        return CustomerView(customer, sites)

    def customers(self) -> list[str]:
        """Every customer that has at least one site."""
        rows = self._db.execute(
            "SELECT DISTINCT customer FROM site_customers ORDER BY customer"
        ).fetchall()
        return [customer for (customer,) in rows]

    # --- the mapping ----------------------------------------------------------

    def find_site(self, ref: str) -> SiteRef:
        """The site whose id or name is ``ref``; names also match in another case."""
        ref = ref.strip()
        if ref.isdigit():
            row = self._db.execute(
                "SELECT site_id, name, gone_since FROM sites WHERE site_id = ?",
                (int(ref),),
            ).fetchone()
            if row is not None:
                return SiteRef(*row)

        for query in _SITES_BY_NAME:
            rows = self._db.execute(query, (ref,)).fetchall()
            candidates = [row for row in rows if row[2] is None] or rows
            if len(candidates) == 1:
                return SiteRef(*candidates[0])
            if candidates:
                ids = ", ".join(str(row[0]) for row in candidates)
                raise UnknownSite(
                    f"site name {ref!r} matches several sites (ids {ids}); "
                    "give the site id instead"
                )
        raise UnknownSite(
            f"no site {ref!r} (by name or id) in {str(self.path)!r}; "
            "run `central-connector sites` to list them, or `sync` if it is new"
        )

    def map_site(self, ref: str, customer: str) -> tuple[SiteRef, str | None]:
        """Map a site to ``customer``; return the site and its previous customer."""
        customer = _clean_customer(customer)
        with transaction(self._db):
            site = self.find_site(ref)
            previous = self._customer_of(site.site_id)
            self._db.execute(
                "INSERT INTO site_customers (site_id, customer, mapped_at) "
                "VALUES (?, ?, ?) ON CONFLICT (site_id) DO UPDATE SET "
                "customer = excluded.customer, mapped_at = excluded.mapped_at",
                (site.site_id, customer, self._stamp()),
            )
        return site, previous

    def unmap_site(self, ref: str) -> tuple[SiteRef, str | None]:
        """Leave a site unmapped; return the site and the customer it had."""
        with transaction(self._db):
            site = self.find_site(ref)
            previous = self._customer_of(site.site_id)
            self._db.execute(
                "DELETE FROM site_customers WHERE site_id = ?", (site.site_id,)
            )
        return site, previous

    def _customer_of(self, site_id: int) -> str | None:
        row = self._db.execute(
            "SELECT customer FROM site_customers WHERE site_id = ?", (site_id,)
        ).fetchone()
        return None if row is None else str(row[0])

    # --- plumbing -------------------------------------------------------------

    def _stamp(self) -> str:
        return self._now().astimezone(UTC).isoformat(timespec="seconds")


# --- opening and checking the file ------------------------------------------


def _prepare(connection: sqlite3.Connection, path: Path) -> None:
    """Check the file is ours (or empty) and create the schema if it is new."""
    try:
        version, app_id, tables = _describe(connection)
    except sqlite3.DatabaseError as exc:
        raise StoreError(
            f"{str(path)!r} is not an SQLite database ({exc}); "
            "point --db at another file, or move this one away"
        ) from exc

    if version == SCHEMA_VERSION and app_id == APPLICATION_ID:
        return
    if version == 0 and app_id == 0 and _only_token_tables(tables):
        _create_schema(connection, path)
        return
    if app_id == APPLICATION_ID:
        raise StoreError(
            f"{str(path)!r} holds schema version {version} of this connector's store, "
            f"this version reads {SCHEMA_VERSION}; use the matching connector or "
            "point --db at a new file"
        )
    raise StoreError(
        f"{str(path)!r} belongs to another program (application id {app_id}, "
        f"schema version {version}); point --db at another file"
    )


def _create_private(path: Path) -> None:
    """Create ``path`` empty and readable by its owner only: it will hold tokens."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    except OSError as exc:
        raise StoreError(
            f"cannot create database {str(path)!r} ({exc.strerror}); "
            "check the folder's permissions or pass another --db FILE"
        ) from None


def _describe(connection: sqlite3.Connection) -> tuple[int, int, list[str]]:
    (version,) = connection.execute("PRAGMA user_version").fetchone()
    (app_id,) = connection.execute("PRAGMA application_id").fetchone()
    tables = [
        name
        for (name,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
        )
    ]
    return int(version), int(app_id), tables


def _only_token_tables(tables: list[str]) -> bool:
    return all(name in _SHARED_TABLES for name in tables)


def _create_schema(connection: sqlite3.Connection, path: Path) -> None:
    connection.execute("BEGIN IMMEDIATE")
    try:
        # Another process may have initialised the file since we looked.
        version, app_id, tables = _describe(connection)
        if version == 0 and app_id == 0 and _only_token_tables(tables):
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    connection.execute(statement)
            connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
    _prepare(connection, path)


# --- helpers ------------------------------------------------------------------


def _clean_customer(customer: str) -> str:
    cleaned = customer.strip()
    if not cleaned or len(cleaned) > MAX_CUSTOMER_LENGTH:
        raise StoreError(
            f"customer {customer!r} must be 1 to {MAX_CUSTOMER_LENGTH} characters "
            "after trimming spaces"
        )
    if any(unicodedata.category(char).startswith("C") for char in cleaned):
        raise StoreError(f"customer {customer!r} must not contain control characters")
    return cleaned
