"""Helpers shared by the connector's tests (imported by the conftest and tests)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from connector import CentralClient
from fake_central import FakeClock

START = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
_SETTLE_ROUNDS = 100_000

ClientFactory = Callable[..., CentralClient]
"""``make_client(credentials=None, **options)``: a client wired to the served fake."""


class FakeTime:
    """``now`` and ``sleep`` for the connector, driving the fake's frozen clock.

    A sleep moves the clock to its wake-up time unless another sleeper already
    moved it further, so many tasks sleeping at once advance time only once.
    ``settle``, when set, must be true before the clock moves: a test sets it to
    "no request in flight", so that moving time never lands a request sent in one
    second into the fake's next second.
    """

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.sleeps: list[float] = []
        self.settle: Callable[[], bool] | None = None

    def now(self) -> datetime:
        return self.clock.now()

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        wake_at = self.clock.timestamp() + max(0.0, seconds)
        await asyncio.sleep(0)
        await self._settled()
        behind = wake_at - self.clock.timestamp()
        if behind > 0:
            self.clock.advance(behind)
        await asyncio.sleep(0)

    async def _settled(self) -> None:
        if self.settle is None:
            return
        for _ in range(_SETTLE_ROUNDS):
            if self.settle():
                return
            await asyncio.sleep(0)  # lets the loop run I/O; no time passes
        raise AssertionError("requests stayed in flight; the test cannot move time")
