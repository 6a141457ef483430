"""Read every site and every inventory device through pycentral 1.4.3.

Runs under pycentral's own virtual environment (``.bench/pycentral-venv``), so it
imports nothing from this project: only the standard library and pycentral.

Usage: ``python pycentral_read.py --credentials FILE --base-url URL
[--ca-file PEM] --token-dir DIR``

It builds an ``ArubaCentralBase`` from the five pasted values and pages through
``/central/v2/sites`` and ``/platform/device_inventory/v1/devices`` (1,000 items a
page) with ``command()``, exactly as a pycentral user would: one request at a time,
and each one on a new connection, since ``command()`` opens a new
``requests.Session`` per call. pycentral also repeats the query parameters
(``offset=0&limit=1000&offset=0&limit=1000``); the fake reads the first of each.
It prints one JSON line: items read, requests made, and the wall and CPU time of
the reads.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

# pycentral lives in its own venv, out of the project's type checker's sight.
from pycentral.base import ArubaCentralBase  # type: ignore[import-not-found]

LIMIT = 1000
LISTS: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("/central/v2/sites", "sites", {}),
    ("/platform/device_inventory/v1/devices", "devices", {"sku_type": "all"}),
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--credentials", type=Path, required=True)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--ca-file")
    parser.add_argument("--token-dir", type=Path, required=True)
    args = parser.parse_args()

    central = _central(args)
    requests_made = 0
    counts: dict[str, int] = {}

    started, cpu_started = time.perf_counter(), time.process_time()
    for path, key, extra in LISTS:
        items, pages = _read_all(central, path, key, extra)
        counts[key] = items
        requests_made += pages
    wall_s = time.perf_counter() - started
    cpu_s = time.process_time() - cpu_started

    report = {**counts, "requests": requests_made, "wall_s": wall_s, "cpu_s": cpu_s}
    print(json.dumps(report))
    return 0


def _central(args: argparse.Namespace) -> ArubaCentralBase:
    pasted = json.loads(args.credentials.read_text(encoding="utf-8"))
    quiet = logging.getLogger("benchmarks.pycentral")
    quiet.addHandler(logging.NullHandler())
    quiet.propagate = False

    central_info = {
        "base_url": args.base_url,
        "client_id": pasted["client_id"],
        "client_secret": pasted["client_secret"],
        "customer_id": "benchmark",
        "token": {
            "access_token": pasted["access_token"],
            "refresh_token": pasted["refresh_token"],
        },
    }
    return ArubaCentralBase(
        central_info=central_info,
        token_store={"type": "local", "path": str(args.token_dir)},
        logger=quiet,
        ssl_verify=args.ca_file or True,
    )


def _read_all(
    central: ArubaCentralBase, path: str, key: str, extra: dict[str, Any]
) -> tuple[int, int]:
    """Page through one list; return (items, requests)."""
    offset = 0
    pages = 0

    while True:
        params = {**extra, "offset": offset, "limit": LIMIT}
        result = central.command(apiMethod="GET", apiPath=path, apiParams=params)
        pages += 1
        if result["code"] != 200:
            raise SystemExit(f"{path} at offset {offset}: HTTP {result['code']}")

        body = result["msg"]
        page = body[key]
        offset += len(page)
        total = body.get("total")
        if not page or len(page) < LIMIT or (total is not None and offset >= total):
            return offset, pages


if __name__ == "__main__":
    raise SystemExit(main())
