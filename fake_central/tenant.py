"""A customer's data: its sites, device inventory and monitoring lists.

``Tenant`` is the ground truth tests compare against: ``.sites`` is the list of
site dicts exactly as served (in ``+site_name`` order), ``.devices`` the inventory
dicts and ``.monitoring["aps"|"switches"|"gateways"]`` the monitoring dicts. The
device collections are read-only sequences that render dicts on access.

Scenarios change a tenant between pages with ``add_sites``/``remove_sites`` and
``add_devices``/``remove_devices`` (totals that move during a sync). Edit data
through these methods; after editing ``.sites`` dicts in place, call ``touch()``
so the cached page encodings are rebuilt.

Sites and inventory pages are served as bytes: each page body is encoded once per
version of the data (``touch()`` starts a new one) and query, then kept in a
bounded cache, so a page read again costs no encoding at all.
"""

from __future__ import annotations

import json
import random
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Final, overload

from fake_central.config import DeviceTypeCasing
from fake_central.datagen import KINDS, Device, DeviceFactory, make_site, split_kinds

__all__ = ["PageCache", "RecordView", "Tenant"]

_DEVICE_TYPES: Final[dict[str, dict[str, str]]] = {
    "lower": {"aps": "iap", "switches": "switch", "gateways": "gateway"},
    "upper": {"aps": "IAP", "switches": "SWITCH", "gateways": "GATEWAY"},
    "short": {"aps": "AP", "switches": "SWITCH", "gateways": "GATEWAY"},
}
_LAST_MODIFIED_BASE: Final = 1_767_225_600  # 2026-01-01T00:00:00Z
_CUSTOMER_NAMES: Final = ("Acme Corp", "Globex", "Initech", "Umbrella Retail", "Hooli")
_FILTERS: Final[dict[str, Callable[[Device, str], bool]]] = {
    "site": lambda d, v: d.site == v,
    "status": lambda d, v: ("up" if d.up else "down") == v.lower(),
    "serial": lambda d, v: d.serial == v,
    "macaddr": lambda d, v: d.macaddr == v.lower(),
    "model": lambda d, v: d.spec.monitoring_model == v,
    "group": lambda d, v: d.group == v,
}
MONITORING_FILTERS: Final = frozenset(_FILTERS)
MONITORING_SORT_KEYS: Final = frozenset({"serial", "macaddr", "swarm_id"})
_CACHE_LIMIT: Final = 64
_PAGE_CACHE_BYTES: Final = 64 * 1024 * 1024


class PageCache:
    """Encoded page bodies by query, least recently used out beyond a byte budget."""

    def __init__(self, max_bytes: int = _PAGE_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._bodies: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
        self._size = 0

    def __len__(self) -> int:
        return len(self._bodies)

    def get(self, key: tuple[Any, ...], build: Callable[[], bytes]) -> bytes:
        """The body cached under ``key``, built and kept on a miss."""
        body = self._bodies.get(key)
        if body is not None:
            self._bodies.move_to_end(key)
            return body
        body = build()
        self._bodies[key] = body
        self._size += len(body)
        while self._size > self.max_bytes and len(self._bodies) > 1:
            _, dropped = self._bodies.popitem(last=False)
            self._size -= len(dropped)
        return body

    def clear(self) -> None:
        self._bodies.clear()
        self._size = 0


class RecordView(Sequence[dict[str, Any]]):
    """A read-only list of devices that renders each one as an API dict."""

    def __init__(
        self, records: list[Device], render: Callable[[Device], dict[str, Any]]
    ):
        self._records = records
        self._render = render

    def __len__(self) -> int:
        return len(self._records)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [self._render(record) for record in self._records[index]]
        return self._render(self._records[index])

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (self._render(record) for record in self._records)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RecordView | list | tuple):
            return list(self) == list(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"<RecordView of {len(self._records)} devices>"


class Tenant:
    """One customer's sites and devices, generated from a seed."""

    def __init__(
        self, customer_id: str, cluster: str, *, seed: int = 0, customer_name: str = ""
    ) -> None:
        self.customer_id = customer_id
        self.cluster = cluster
        self.seed = seed
        self._rng = random.Random(seed)
        self.customer_name = customer_name or self._rng.choice(_CUSTOMER_NAMES)
        self._casing: DeviceTypeCasing = "lower"
        self.unmonitored_fraction = 0.05
        self.sites: list[dict[str, Any]] = []
        self._factory = DeviceFactory(self._rng)
        self._inventory: list[Device] = []
        self._monitored: dict[str, list[Device]] = {kind: [] for kind in KINDS}
        self._next_site_id = 1
        self._site_json: list[str] | None = None
        self._views: dict[tuple[Any, ...], list[Device]] = {}
        self._pages = PageCache()
        self.devices = RecordView(self._inventory, self._inventory_dict)
        self.monitoring = {
            kind: RecordView(self._monitored[kind], self._monitoring_dict)
            for kind in KINDS
        }

    @classmethod
    def generate(
        cls,
        customer_id: str,
        cluster: str,
        *,
        sites: int,
        devices: int,
        seed: int,
        unmonitored_fraction: float = 0.05,
    ) -> Tenant:
        """A tenant with ``sites`` sites and ``devices`` devices, deterministically."""
        tenant = cls(customer_id, cluster, seed=seed)
        tenant.unmonitored_fraction = unmonitored_fraction
        tenant.add_sites(sites)
        kinds = [kind for kind, n in split_kinds(devices).items() for _ in range(n)]
        tenant._rng.shuffle(kinds)
        for kind in kinds:
            tenant._append_device(kind, monitored=None)
        tenant.touch()
        return tenant

    def __repr__(self) -> str:
        return (
            f"<Tenant {self.customer_id} in {self.cluster}: {len(self.sites)} sites, "
            f"{len(self._inventory)} devices>"
        )

    @property
    def casing(self) -> DeviceTypeCasing:
        """How inventory ``device_type`` values are spelt (see ``FakeConfig``)."""
        return self._casing

    @casing.setter
    def casing(self, casing: DeviceTypeCasing) -> None:
        if casing != self._casing:
            self._casing = casing
            self.touch()

    # -- scenario hooks -----------------------------------------------------------

    def add_sites(self, n: int) -> list[dict[str, Any]]:
        """Create ``n`` new sites (unique names); returns their dicts."""
        added = [self._new_site() for _ in range(_non_negative(n, "n"))]
        self.sites.extend(added)
        self.sites.sort(key=_site_name)
        self.touch()
        return added

    def remove_sites(self, n: int, *, from_start: bool = False) -> list[dict[str, Any]]:
        """Delete the last (or first) ``n`` sites in name order.

        Their devices stay in the inventory and monitoring, with ``site`` null.
        """
        n = min(_non_negative(n, "n"), len(self.sites))
        if n == 0:
            return []
        cut = slice(0, n) if from_start else slice(len(self.sites) - n, None)
        removed = self.sites[cut]
        del self.sites[cut]
        gone = {site["site_name"] for site in removed}
        for device in self._inventory:
            if device.site in gone:
                device.site = None
        self.touch()
        return removed

    def add_devices(
        self, n: int, kind: str = "aps", *, monitored: bool = True
    ) -> list[dict[str, Any]]:
        """Add ``n`` devices of ``kind``; returns their inventory dicts."""
        if kind not in KINDS:
            raise ValueError(
                f"unknown device kind {kind!r}; use one of {', '.join(KINDS)}"
            )
        added = [
            self._append_device(kind, monitored=monitored)
            for _ in range(_non_negative(n, "n"))
        ]
        self.touch()
        return [self._inventory_dict(device) for device in added]

    def remove_devices(self, n: int) -> list[dict[str, Any]]:
        """Remove the last ``n`` inventory devices (and their monitoring entries)."""
        n = min(_non_negative(n, "n"), len(self._inventory))
        removed = self._inventory[len(self._inventory) - n :]
        del self._inventory[len(self._inventory) - n :]
        counts = {site["site_name"]: site for site in self.sites}
        for device in reversed(removed):
            if device.monitored:
                self._monitored[device.kind].pop()
                if device.site in counts:
                    counts[device.site]["associated_device_count"] -= 1
        self.touch()
        return [self._inventory_dict(device) for device in removed]

    def touch(self) -> None:
        """Forget cached encodings and orderings (after any change to the data)."""
        self._site_json = None
        self._views.clear()
        self._pages.clear()

    # -- serving --------------------------------------------------------------------

    def site_page(
        self, offset: int, limit: int, *, descending: bool
    ) -> tuple[str, int]:
        """The page's site objects as a JSON array body, and how many there are."""
        encoded = self._site_json
        if encoded is None:
            encoded = self._site_json = [json.dumps(site) for site in self.sites]
        if descending:
            end = len(encoded) - offset
            items = encoded[max(0, end - limit) : max(0, end)][::-1]
        else:
            items = encoded[offset : offset + limit]
        return "[" + ",".join(items) + "]", len(items)

    def site_page_body(self, offset: int, limit: int, *, descending: bool) -> bytes:
        """The whole ``GET /central/v2/sites`` body of one page, cached."""

        def build() -> bytes:
            items, count = self.site_page(offset, limit, descending=descending)
            total = len(self.sites)
            body = f'{{"count": {count}, "sites": {items}, "total": {total}}}'
            return body.encode()

        return self._pages.get(("sites", offset, limit, descending), build)

    def inventory_page(
        self, kinds: frozenset[str] | None, offset: int, limit: int
    ) -> tuple[list[dict[str, Any]], int]:
        """Inventory dicts of the page, and the total matching ``kinds``."""
        records = self._inventory_records(kinds)
        page = records[offset : offset + limit]
        return [self._inventory_dict(device) for device in page], len(records)

    def inventory_page_body(
        self, kinds: frozenset[str] | None, offset: int, limit: int
    ) -> bytes:
        """The whole inventory body of one page (``{"devices", "total"}``), cached.

        The same bytes as ``json.dumps`` of that object.
        """

        def build() -> bytes:
            devices, total = self.inventory_page(kinds, offset, limit)
            return json.dumps({"devices": devices, "total": total}).encode()

        return self._pages.get(("inventory", kinds, offset, limit), build)

    def monitoring_page(
        self,
        kind: str,
        filters: dict[str, str],
        sort: str | None,
        offset: int,
        limit: int,
    ) -> tuple[list[dict[str, Any]], int]:
        """Monitoring dicts of the page, and the total after filtering."""
        records = self._monitored[kind]
        if filters or sort:
            key = (kind, tuple(sorted(filters.items())), sort)
            records = self._view(
                key, lambda: _select(self._monitored[kind], filters, sort)
            )
        page = records[offset : offset + limit]
        return [self._monitoring_dict(device) for device in page], len(records)

    def summary(self) -> dict[str, Any]:
        """Counts, for the control API and logs."""
        return {
            "customer_id": self.customer_id,
            "cluster": self.cluster,
            "sites": len(self.sites),
            "devices": len(self._inventory),
            "monitored": {kind: len(self._monitored[kind]) for kind in KINDS},
        }

    # -- internals ------------------------------------------------------------------

    def _new_site(self) -> dict[str, Any]:
        site = make_site(self._rng, self._next_site_id)
        self._next_site_id += 1
        return site

    def _append_device(self, kind: str, *, monitored: bool | None) -> Device:
        if monitored is None:
            monitored = self._rng.random() >= self.unmonitored_fraction
        site = self._rng.choice(self.sites) if self.sites else None
        device = self._factory.make(kind, site, monitored=monitored)
        self._inventory.append(device)
        if monitored:
            self._monitored[kind].append(device)
            if site is not None:
                site["associated_device_count"] += 1
        return device

    def _inventory_records(self, kinds: frozenset[str] | None) -> list[Device]:
        if kinds is None or kinds == frozenset(KINDS):
            return self._inventory
        return self._view(
            ("inventory", kinds), lambda: _of_kinds(self._inventory, kinds)
        )

    def _view(
        self, key: tuple[Any, ...], build: Callable[[], list[Device]]
    ) -> list[Device]:
        found = self._views.get(key)
        if found is None:
            if len(self._views) >= _CACHE_LIMIT:
                self._views.clear()
            found = self._views[key] = build()
        return found

    def _inventory_dict(self, device: Device) -> dict[str, Any]:
        spec = device.spec
        return {
            "aruba_part_no": spec.part_no,
            "customer_id": self.customer_id,
            "customer_name": self.customer_name,
            "device_type": _DEVICE_TYPES[self.casing][device.kind],
            "imei": None,
            "macaddr": device.macaddr,
            "model": spec.inventory_model,
            "serial": device.serial,
            "services": list(spec.services),
            "tier_type": device.tier,
        }

    def _monitoring_dict(self, device: Device) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "serial": device.serial,
            "name": device.name,
            "macaddr": device.macaddr,
            "model": device.spec.monitoring_model,
            "status": "Up" if device.up else "Down",
            "ip_address": device.ip_address,
            "public_ip_address": device.public_ip,
            "firmware_version": device.firmware,
            "group_name": device.group,
            "site": device.site,
            "labels": [],
        }
        if device.kind == "aps":
            entry["swarm_id"] = None
            entry["swarm_master"] = False
            entry["last_modified"] = (
                _LAST_MODIFIED_BASE - (device.index * 7919) % 2_592_000
            )
        elif device.kind == "switches":
            entry["switch_type"] = device.spec.switch_type
            entry["stack_id"] = None
        return entry


def _site_name(site: dict[str, Any]) -> str:
    return str(site["site_name"])


def _non_negative(n: int, name: str) -> int:
    if n < 0:
        raise ValueError(f"{name} must be zero or more, got {n}")
    return n


def _of_kinds(records: list[Device], kinds: frozenset[str]) -> list[Device]:
    return [device for device in records if device.kind in kinds]


def _select(
    records: list[Device], filters: dict[str, str], sort: str | None
) -> list[Device]:
    tests = [(_FILTERS[name], value) for name, value in filters.items()]
    chosen = [d for d in records if all(test(d, value) for test, value in tests)]
    if sort:
        field, descending = sort[1:], sort.startswith("-")
        if field != "swarm_id":  # every AP has a null swarm_id: keep the given order
            chosen.sort(key=lambda d: str(getattr(d, field)), reverse=descending)
        elif descending:
            chosen.reverse()
    return chosen
