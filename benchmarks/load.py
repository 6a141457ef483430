"""A closed-loop HTTP load generator: N workers, each one request at a time.

The same client drives every server it is compared on. Only responses completed
inside the measurement window are counted (not those of the warm-up); the
measurement window is fixed in time, so the run stops by itself whatever the
server does, and each request has its own timeout.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

import aiohttp

REQUEST_TIMEOUT_S = 10.0


@dataclass
class Load:
    """What one load run saw inside its measurement window."""

    window_s: float
    statuses: Counter[int] = field(default_factory=Counter)
    latencies_s: list[float] = field(default_factory=list)
    failures: int = 0
    body_bytes: int = 0

    @property
    def ok(self) -> int:
        return self.statuses[200]

    @property
    def rate(self) -> float:
        """200 responses per second of window."""
        return self.ok / self.window_s if self.window_s else 0.0

    def percentile_ms(self, share: float) -> float:
        if not self.latencies_s:
            return math.nan
        ordered = sorted(self.latencies_s)
        index = min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)
        return ordered[max(index, 0)] * 1000

    def merge(self, other: Load) -> Load:
        return Load(
            window_s=self.window_s + other.window_s,
            statuses=self.statuses + other.statuses,
            latencies_s=self.latencies_s + other.latencies_s,
            failures=self.failures + other.failures,
            body_bytes=max(self.body_bytes, other.body_bytes),
        )


async def drive(
    url: str,
    *,
    headers: Mapping[str, str],
    workers: int,
    duration_s: float,
    warmup_s: float,
) -> Load:
    """Send GETs to ``url`` from ``workers`` concurrent loops for a fixed time."""
    start = time.perf_counter()
    counted_from = start + warmup_s
    until = counted_from + duration_s
    load = Load(window_s=duration_s)

    connector = aiohttp.TCPConnector(limit=workers)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        loops = (
            _worker(session, url, headers, counted_from, until, load)
            for _ in range(workers)
        )
        await asyncio.gather(*loops)
    return load


async def _worker(
    session: aiohttp.ClientSession,
    url: str,
    headers: Mapping[str, str],
    counted_from: float,
    until: float,
    load: Load,
) -> None:
    while (sent := time.perf_counter()) < until:
        try:
            async with session.get(url, headers=headers) as response:
                body = await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError):
            status = 0
            body = b""
        done = time.perf_counter()

        if counted_from <= done <= until:
            if status:
                load.statuses[status] += 1
                load.latencies_s.append(done - sent)
                load.body_bytes = max(load.body_bytes, len(body))
            else:
                load.failures += 1
