"""Sync: read one tenant's sites and devices from Central into the store.

Five lists make a snapshot, all read at once so that the client's limiter always has
requests waiting:

- ``GET /central/v2/sites``: every site;
- ``GET /platform/device_inventory/v1/devices``: every device (serial, type, model,
  MAC);
- ``GET /monitoring/v2/aps``, ``/monitoring/v1/switches``, ``/monitoring/v1/gateways``:
  the site (by name), status and firmware of each device that ever checked in.

Each list is read with a :class:`~connector._pagination.PageGuard`: the first page
gives the total, then every remaining offset is requested at once, 1,000 items a
page, which is the minimum number of requests. Pages are written to the store's
staging tables as they arrive, so memory holds a few pages, not the tenant. The
inventory, the longest list, is read as plain validated dicts
(``CentralClient.list_inventory_records``), not models: building a model per device
was most of a sync's CPU time.

The store joins the lists when the sync commits: a device gets the site, status and
firmware of the monitoring entry with its serial, and the site whose name that entry
gives. A device no monitoring list mentions has status ``unknown``. Device types are
compared case-insensitively (``iap``, ``IAP`` and ``AP`` are all access points).

The day's call budget is checked once every list's first page is in: the totals
say how many more pages the sync needs, and if Central's last
``X-RateLimit-Remaining-day`` cannot cover them the sync stops with
``DailyBudgetTooSmall`` before spending any of it (the lists wait for that check,
which costs at most the slowest first page's round trip).

A list the guard calls partial makes the snapshot partial: it is committed as an
addition (no site marked gone, no device dropped on its evidence) and the run records
why. Any error while reading leaves the previous snapshot untouched and records the
run as failed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Generic, Protocol, TypeVar

from connector._pagination import (
    DEFAULT_LIMIT,
    DEFAULT_MAX_PAGES,
    ListOutcome,
    PageGuard,
)
from connector.client import ClientStats
from connector.models import (
    InventoryRecordsPage,
    MonitoredDevice,
    MonitoringPage,
    Site,
    SitesPage,
)
from connector.store import (
    InventoryRow,
    MonitoringRow,
    SiteRow,
    SnapshotWriter,
    Store,
    SyncRun,
)

__all__ = [
    "LISTS",
    "MONITORING_LISTS",
    "CentralReader",
    "Progress",
    "SyncResult",
    "device_kind",
    "inventory_rows",
    "site_rows",
    "sync_tenant",
]

logger = logging.getLogger("connector.sync")

MONITORING_LISTS = ("aps", "switches", "gateways")
LISTS = ("sites", "inventory", *MONITORING_LISTS)
"""The lists a sync reads, in the order progress reports name them."""

_KINDS = {
    "iap": "ap",
    "ap": "ap",
    "cap": "ap",
    "switch": "switch",
    "gateway": "gateway",
    "controller": "gateway",
}

Progress = Callable[[str, int, int | None], None]
"""Called after each page: list name, distinct items so far, total expected."""

R = TypeVar("R", SiteRow, InventoryRow, MonitoringRow)


class CentralReader(Protocol):
    """What the sync needs from :class:`connector.CentralClient`."""

    @property
    def stats(self) -> ClientStats: ...

    async def list_sites(self, *, offset: int, limit: int) -> SitesPage: ...

    async def list_inventory_records(
        self, *, offset: int, limit: int, sku_type: str = "all"
    ) -> InventoryRecordsPage: ...

    async def list_monitoring(
        self, kind: str, *, offset: int, limit: int
    ) -> MonitoringPage: ...

    def ensure_daily_budget(self, calls: int) -> None: ...


@dataclass(frozen=True)
class SyncResult:
    """A committed sync: its recorded run and how each list went."""

    run: SyncRun
    lists: dict[str, ListOutcome]

    @property
    def partial(self) -> bool:
        return self.run.outcome == "partial"


def device_kind(device_type: str) -> str:
    """``ap``, ``switch``, ``gateway`` or ``other``, whatever the type's case."""
    return _KINDS.get(device_type.strip().casefold(), "other")


async def sync_tenant(
    client: CentralReader,
    store: Store,
    *,
    limit: int = DEFAULT_LIMIT,
    max_pages: int = DEFAULT_MAX_PAGES,
    progress: Progress | None = None,
) -> SyncResult:
    """Read every list and commit them as the store's new snapshot.

    The run records how many requests the sync made, token refreshes included.
    Errors propagate after the run is recorded as failed; the previous snapshot and
    the mapping are left as they were.
    """
    writer = store.start_sync()
    before = client.stats.requests

    def spent() -> int:
        return client.stats.requests - before

    logger.info("sync %d started", writer.run_id)
    try:
        sources = _sources(client, writer)
        budget = _BudgetCheck(client, len(sources))
        outcomes = await _read_lists(
            sources, limit, max_pages, progress or _quiet, budget
        )
        run = _commit(writer, outcomes, spent())
    except BaseException as exc:
        writer.fail(type(exc).__name__, requests=spent())
        logger.warning("sync %d failed: %s", writer.run_id, type(exc).__name__)
        raise

    logger.info(
        "sync %d %s: %s sites, %s devices",
        run.run_id,
        run.outcome,
        run.sites,
        run.devices,
    )
    return SyncResult(run, outcomes)


def _commit(
    writer: SnapshotWriter, outcomes: dict[str, ListOutcome], requests: int
) -> SyncRun:
    for outcome in outcomes.values():
        for reason in outcome.reasons:
            logger.warning("list %s is partial: %s", outcome.name, reason)
    return writer.commit(
        sites_complete=not outcomes["sites"].partial,
        inventory_complete=not outcomes["inventory"].partial,
        monitoring_complete=not any(
            outcomes[name].partial for name in MONITORING_LISTS
        ),
        requests=requests,
        detail={"lists": {name: asdict(o) for name, o in outcomes.items()}},
    )


# --- one list -----------------------------------------------------------------

Fetch = Callable[[int, int], Coroutine[Any, Any, tuple[list[R], int | None]]]


@dataclass(frozen=True)
class _Source(Generic[R]):
    """How to read one list and where its rows go."""

    name: str
    fetch: Fetch[R]
    stage: Callable[[Iterable[R]], None]

    def guard(self, limit: int, max_pages: int) -> PageGuard[R]:
        return PageGuard(self.name, key=_serial_or_id, limit=limit, max_pages=max_pages)


def _serial_or_id(row: SiteRow | InventoryRow | MonitoringRow) -> object:
    return row[0]


class _BudgetCheck:
    """Holds every list after its first page until the day's budget is checked."""

    def __init__(self, client: CentralReader, lists: int) -> None:
        self._client = client
        self._waiting = lists
        self._needed = 0
        self._verdict: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def cleared(self, calls: int) -> None:
        """Count one list's remaining ``calls``; return once all lists may go on."""
        self._needed += calls
        self._waiting -= 1
        if self._waiting == 0:
            try:
                self._client.ensure_daily_budget(self._needed)
            except BaseException as exc:
                self._verdict.set_exception(exc)
            else:
                self._verdict.set_result(None)
        await self._verdict


async def _read_lists(
    sources: Sequence[_Source[Any]],
    limit: int,
    max_pages: int,
    progress: Progress,
    budget: _BudgetCheck,
) -> dict[str, ListOutcome]:
    """Read every list concurrently; the first failure cancels the others."""
    tasks = [
        asyncio.create_task(_read_list(source, limit, max_pages, progress, budget))
        for source in sources
    ]
    try:
        outcomes = await asyncio.gather(*tasks)
    except BaseException:
        await _cancel(tasks)
        raise
    return {outcome.name: outcome for outcome in outcomes}


async def _read_list(
    source: _Source[R],
    limit: int,
    max_pages: int,
    progress: Progress,
    budget: _BudgetCheck,
) -> ListOutcome:
    """Read one list as its guard directs, staging each page as it arrives."""
    guard = source.guard(limit, max_pages)
    pending: dict[asyncio.Task[tuple[list[R], int | None]], int] = {}
    checked = False
    try:
        while True:
            offsets = guard.next_offsets()
            if not checked and guard.received_pages:
                checked = True
                await budget.cleared(len(offsets))
            for offset in offsets:
                task = asyncio.create_task(source.fetch(offset, guard.limit))
                pending[task] = offset
            if not pending:
                break

            done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                offset = pending.pop(task)
                rows, total = task.result()
                source.stage(guard.accept(offset, rows, total))
                progress(source.name, guard.received, guard.expected)
    finally:
        await _cancel(pending)
    return guard.outcome()


async def _cancel(tasks: Iterable[asyncio.Task[Any]]) -> None:
    """Cancel what still runs and collect every outcome, so none goes unretrieved."""
    tasks = list(tasks)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _quiet(name: str, received: int, expected: int | None) -> None:
    """No progress display."""


# --- the five lists -----------------------------------------------------------


def _sources(client: CentralReader, writer: SnapshotWriter) -> list[_Source[Any]]:
    async def sites(offset: int, limit: int) -> tuple[list[SiteRow], int | None]:
        page = await client.list_sites(offset=offset, limit=limit)
        return site_rows(page), page.total

    async def inventory(
        offset: int, limit: int
    ) -> tuple[list[InventoryRow], int | None]:
        page = await client.list_inventory_records(
            offset=offset, limit=limit, sku_type="all"
        )
        return inventory_rows(page), page["total"]

    def monitoring(kind: str) -> Fetch[MonitoringRow]:
        async def fetch(
            offset: int, limit: int
        ) -> tuple[list[MonitoringRow], int | None]:
            page = await client.list_monitoring(kind, offset=offset, limit=limit)
            return [_monitoring_row(device) for device in page.devices], page.total

        return fetch

    return [
        _Source("sites", sites, writer.add_sites),
        _Source("inventory", inventory, writer.add_inventory),
        *(
            _Source(kind, monitoring(kind), writer.add_monitoring)
            for kind in MONITORING_LISTS
        ),
    ]


def site_rows(page: SitesPage) -> list[SiteRow]:
    """The store rows of one page of sites, as the sync stages them."""
    return [_site_row(site) for site in page.sites]


def _site_row(site: Site) -> SiteRow:
    return SiteRow(
        site_id=site.site_id,
        name=site.site_name,
        address=site.address,
        city=site.city,
        state=site.state,
        country=site.country,
        zipcode=site.zipcode,
        latitude=site.latitude,
        longitude=site.longitude,
    )


def inventory_rows(page: InventoryRecordsPage) -> list[InventoryRow]:
    """The store rows of one inventory page, as the sync stages them."""
    # The sync's hottest loop (100,000 devices make 100 pages): each type's kind
    # is worked out once a page, and each row is made by tuple.__new__ directly,
    # skipping the Python-level __new__ of the NamedTuple (a quarter of the loop).
    kinds = _KindsSeen()
    make = tuple.__new__
    return [
        make(
            InventoryRow,
            (
                record["serial"],
                kinds[record["device_type"]],
                record["device_type"],
                record["model"],
                record["macaddr"],
                record["aruba_part_no"],
            ),
        )
        for record in page["devices"]
    ]


class _KindsSeen(dict[str, str]):
    """:func:`device_kind` of each device type met, worked out once."""

    def __missing__(self, device_type: str) -> str:
        kind = self[device_type] = device_kind(device_type)
        return kind


def _monitoring_row(device: MonitoredDevice) -> MonitoringRow:
    return MonitoringRow(
        serial=device.serial,
        name=device.name,
        site_name=device.site,
        status=device.status,
        firmware=device.firmware_version,
        model=device.model,
        mac=device.macaddr,
    )
