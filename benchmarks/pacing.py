"""3. Pacing: the connector's sustained rate against the fake's 7/s limit.

Real time: the fake (TLS, child process) keeps its per-second limit on and its clock
running. ``READERS`` tasks share one ``CentralClient`` with its default pacing and
read sites pages back to back for ``READ_S`` seconds, so the pacer is always the
bottleneck. The fake's journal then gives the 200s in each of its one-second
windows; the first and last windows are partial and left out. The sustained rate is
the mean of the full windows, as a share of the limit the fake reports.

The read lasts ``READ_S`` = 30 s, not less: a pacer that sends 7 calls every
slightly-more-than-a-second (7 every 7/6.8 s by default) drifts against the fake's
fixed windows and leaves one window short every few dozen. Over a dozen windows one
such short window would weigh 1/12 of the mean; over 30 it weighs 1/30, close to
its true long-run share.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from datetime import datetime
from typing import Any

from benchmarks.connect import client_for
from benchmarks.context import Context, Outcome, progress
from benchmarks.fakectl import data_requests, running_fake
from benchmarks.report import Figure
from connector import CentralClient

KEY = "3"
TITLE = "Pacing"
TIME_LIMIT_S = 75.0

READ_S = 30.0
READERS = 16
REQUIRED_SHARE = 0.95


async def run(ctx: Context) -> Outcome:
    folder = ctx.folder("pacing")

    async with running_fake(folder, tls=True) as fake:
        tenant = await fake.control.tenant()
        config = await fake.control.configure(rate_limit_enabled=True)
        await fake.control.clock(freeze=False)
        await fake.control.load_inventory(tenant.customer_id, sites=50, devices=50)
        credentials = tenant.write(folder / "credentials.json")
        since = await fake.control.last_seq()

        client = client_for(
            credentials, fake.port, fake.ca_file, folder / "tokens.json"
        )
        progress(f"pacing: reading for {READ_S:.0f} s against the fake's 7/s limit")
        async with client:
            deadline = time.monotonic() + READ_S
            await asyncio.gather(*(_reader(client, deadline) for _ in range(READERS)))
            stats = client.stats

        entries = [e for e in await fake.control.journal(since) if e["seq"] > since]

    limit = int(config["per_second_limit"])
    return _outcome(data_requests(entries), limit, stats.rate_limited)


async def _reader(client: CentralClient, deadline: float) -> None:
    while time.monotonic() < deadline:
        await client.list_sites(offset=0, limit=10)


def _outcome(entries: list[dict[str, Any]], limit: int, client_429s: int) -> Outcome:
    times = [
        datetime.fromisoformat(e["time"]).timestamp()
        for e in entries
        if e["status"] == 200
    ]
    if len(times) < 2:
        raise RuntimeError(f"the journal holds {len(times)} answered reads, not a rate")
    per_window = Counter(math.floor(t) for t in times)
    span = max(times) - min(times)
    overall = (len(times) - 1) / span if span > 0 else 0.0
    refused = sum(1 for e in entries if e["status"] == 429)
    full = [per_window[w] for w in range(min(per_window) + 1, max(per_window))]
    sustained = sum(full) / len(full) if full else 0.0
    share = sustained / limit

    met = share >= REQUIRED_SHARE and refused == 0
    causes = []
    if share < REQUIRED_SHARE:
        causes.append(
            f"{sustained:.2f} calls/s is {share:.1%} of {limit}/s: the connector paces "
            "below the limit (its default rate and window margin)"
        )
    if refused:
        causes.append(f"the fake answered {refused} x 429")

    figure = Figure(
        KEY,
        TITLE + " (sustained rate, share of the limit)",
        f"{sustained:.2f} calls/s, {refused} x 429",
        f"fake limit {limit}/s",
        f"{share:.1%}",
        f">= {REQUIRED_SHARE:.0%}, no 429",
        met,
        "; ".join(causes),
    )
    details = [
        f"- **{KEY}. {TITLE}.** Fake over TLS in a child process, per-second limit "
        f"{limit} on, clock running in real time; {READERS} tasks on one "
        f"`CentralClient` (default pacing) reading sites pages for {READ_S:.0f} s. "
        f"200s per full one-second window of the fake's journal: "
        f"{', '.join(str(n) for n in full)} (min {min(full, default=0)}, max "
        f"{max(full, default=0)}); first to last 200: {len(times)} answers at "
        f"{overall:.2f}/s. 429s in the journal: {refused}, met by the client: "
        f"{client_429s}.",
    ]
    return Outcome([figure], details)
