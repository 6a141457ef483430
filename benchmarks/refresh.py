"""2. Refresh under concurrency: 1,000 concurrent GETs meet an expired token.

The fake runs over TLS in a child process with its rate limit off and the budgets
its headers report raised out of reach (the connector, paced at 10,000/s, obeys
them). One warm-up GET proves the pair works; then the
fake's clock jumps past the access token's lifetime, and 1,000 GETs start at once on
one client. The fake's journal must show exactly one successful rotation, and every
GET must end in a 200.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from benchmarks.connect import UNPACED_RATE, client_for
from benchmarks.context import Context, Outcome, progress
from benchmarks.fakectl import data_requests, refreshes, running_fake
from benchmarks.report import Figure
from connector import CentralClient

KEY = "2"
TITLE = "Refresh under concurrency"
TIME_LIMIT_S = 90.0

CONCURRENT_GETS = 1000
PAST_EXPIRY_S = 7200 + 60
SITES_PATH = "/central/v2/sites"


async def run(ctx: Context) -> Outcome:
    folder = ctx.folder("refresh")

    async with running_fake(folder, tls=True) as fake:
        tenant = await fake.control.tenant()
        await fake.control.lift_limits()
        await fake.control.load_inventory(tenant.customer_id, sites=20, devices=20)
        credentials = tenant.write(folder / "credentials.json")

        tokens = folder / "tokens.json"
        client = client_for(
            credentials, fake.port, fake.ca_file, tokens, rate_per_second=UNPACED_RATE
        )
        async with client:
            await client.get_json(SITES_PATH, {"offset": 0, "limit": 1})
            await fake.control.clock(advance=PAST_EXPIRY_S)
            since = await fake.control.last_seq()

            progress(f"refresh: {CONCURRENT_GETS} concurrent GETs on an expired token")
            results = await asyncio.gather(
                *(_one_get(client) for _ in range(CONCURRENT_GETS)),
                return_exceptions=True,
            )
            stats = client.stats

        entries = [e for e in await fake.control.journal(since) if e["seq"] > since]

    return _outcome(results, entries, stats.refreshes)


async def _one_get(client: CentralClient) -> dict[str, Any]:
    payload: dict[str, Any] = await client.get_json(
        SITES_PATH, {"offset": 0, "limit": 1}
    )
    return payload


def _outcome(
    results: list[Any], entries: list[dict[str, Any]], client_refreshes: int
) -> Outcome:
    rotations = len(refreshes(entries))
    failures = Counter(
        type(r).__name__ for r in results if isinstance(r, BaseException)
    )
    answered = Counter(e["status"] for e in data_requests(entries))
    succeeded = len(results) - sum(failures.values())

    met = rotations == 1 and not failures
    cause = ""
    if rotations != 1:
        cause = f"the journal shows {rotations} rotations for one expiry"
    if failures:
        listing = ", ".join(f"{n} {name}" for name, n in failures.items())
        cause += (
            f"{'; ' if cause else ''}{len(results) - succeeded} GETs failed ({listing})"
        )

    statuses = ", ".join(f"{n:,} x {status}" for status, n in sorted(answered.items()))
    figure = Figure(
        KEY,
        TITLE + " (refreshes in the fake's journal)",
        f"{rotations} refresh, {succeeded:,}/{len(results):,} GETs ok",
        f"{CONCURRENT_GETS:,} concurrent GETs, 1 expiry",
        str(rotations),
        "exactly 1",
        met,
        cause,
    )
    details = [
        f"- **{KEY}. {TITLE}.** Fake over TLS in a child process, rate limit off (headers report "
        "1,000,000/s), "
        "connector paced at 10,000/s; one warm-up GET, then the fake's clock moved "
        f"{PAST_EXPIRY_S} s ahead and {CONCURRENT_GETS:,} `get_json` calls started "
        f"together on one `CentralClient`. Journal after the jump: {statuses} on "
        f"the data path; {rotations} rotation(s); the client counted "
        f"{client_refreshes} refresh(es).",
    ]
    return Outcome([figure], details)
