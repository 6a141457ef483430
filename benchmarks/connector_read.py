"""Read every site and every inventory device through the connector, timed.

Usage: ``python -m benchmarks.connector_read --credentials FILE --port N
--ca-file PEM --tokens FILE``

The counterpart of ``pycentral_read`` for benchmark 5, run in its own process the
same way. It opens one ``CentralClient`` (paced at 10,000/s: the fake's rate limit
is off) and reads both lists as the sync does: the first page of each gives the
total, then every remaining page is requested at once, 1,000 items a page. Each
page is parsed by the call the sync itself makes (``list_sites`` into models,
``list_inventory_records`` into validated dicts of the fields the sync stores)
and turned into the sync's store rows, then counted, not stored. It prints one JSON
line: items read, requests made, and the wall and CPU time from opening the client
to the last page.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from benchmarks.connect import UNPACED_RATE, client_for
from connector import CentralClient
from connector.sync import inventory_rows, site_rows

LIMIT = 1000

Fetch = Callable[[int], Awaitable[tuple[int, int | None]]]


async def read_list(fetch: Fetch) -> tuple[int, int]:
    """Read one list; return (items, pages)."""
    items, total = await fetch(0)
    if total is None or items < LIMIT:
        return items, 1

    offsets = range(LIMIT, total, LIMIT)
    counts: Sequence[tuple[int, int | None]] = await asyncio.gather(
        *(fetch(offset) for offset in offsets)
    )
    return items + sum(n for n, _ in counts), 1 + len(counts)


async def read_everything(client: CentralClient) -> dict[str, int]:
    async def sites(offset: int) -> tuple[int, int | None]:
        page = await client.list_sites(offset=offset, limit=LIMIT)
        return len(site_rows(page)), page.total

    async def devices(offset: int) -> tuple[int, int | None]:
        page = await client.list_inventory_records(
            offset=offset, limit=LIMIT, sku_type="all"
        )
        return len(inventory_rows(page)), page["total"]

    (site_count, site_pages), (device_count, device_pages) = await asyncio.gather(
        read_list(sites), read_list(devices)
    )
    return {
        "sites": site_count,
        "devices": device_count,
        "requests": site_pages + device_pages,
    }


async def timed_read(args: argparse.Namespace) -> dict[str, float]:
    client = client_for(
        args.credentials,
        args.port,
        args.ca_file,
        args.tokens,
        rate_per_second=UNPACED_RATE,
    )

    started, cpu_started = time.perf_counter(), time.process_time()
    async with client:
        counts = await read_everything(client)
    wall_s = time.perf_counter() - started
    return {**counts, "wall_s": wall_s, "cpu_s": time.process_time() - cpu_started}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--credentials", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ca-file", type=Path, required=True)
    parser.add_argument("--tokens", type=Path, required=True)
    args = parser.parse_args()

    print(json.dumps(asyncio.run(timed_read(args))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
