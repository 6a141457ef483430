"""Instruments for the state machine: what went on the wire, and virtual time.

* :class:`SendWatch` sees every request the connector makes at the moment it is
  handed to aiohttp (after pacing, so after any wait), with the access token it
  carries, and compares that token with the newest pair the connector saved.
* :class:`RecordingStore` is the connector's real SQLite token store, telling the
  watch which pair it saved last (the connector persists a pair before using it).
* :class:`VirtualTime` is the ``sleep`` the connector gets: a discrete-event
  clock over the fake's frozen clock.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp

from connector import SqliteTokenStore, StoredTokens
from fake_central import FakeClock

RETRIED_AFTER = frozenset({0, 429, 500, 502, 503, 504})
"""Answers after which the connector repeats the same call (0: none came)."""


class SendWatch:
    """The connector's requests, as they go on the wire.

    A GET whose bearer token is not the newest pair the connector has saved is a
    *stale replay*: the connector had already replaced that token (by its own
    refresh, or by adopting a pasted pair) and sent it anyway. Stale replays that
    repeat a call after a 5xx, 429 or broken connection are kept apart in
    ``stale_retries``; every other one is in ``stale``.
    """

    active: SendWatch | None = None

    def __init__(self) -> None:
        self.sent = 0
        self.answered = 0
        self.latest_saved: str | None = None
        self.stale: list[str] = []
        self.stale_retries: list[str] = []
        self._last: weakref.WeakKeyDictionary[asyncio.Task[Any], tuple[str, int]] = (
            weakref.WeakKeyDictionary()
        )

    @property
    def in_flight(self) -> int:
        """Requests handed to aiohttp whose answer (or failure) is not in yet."""
        return self.sent - self.answered

    def on_send(self, method: str, url: Any, headers: Any) -> str | None:
        self.sent += 1
        token = str((headers or {}).get("Authorization", "")).removeprefix("Bearer ")
        if method != "GET" or not token:
            return None
        task = asyncio.current_task()
        previous = self._last.get(task) if task is not None else None
        if token != self.latest_saved:
            where = f"{method} {getattr(url, 'path', url)}"
            repeats = previous is not None and previous[0] == token
            if repeats and previous is not None and previous[1] in RETRIED_AFTER:
                self.stale_retries.append(where)
            else:
                self.stale.append(where)
        return token

    def on_answer(self, token: str | None, status: int) -> None:
        self.answered += 1
        task = asyncio.current_task()
        if token is not None and task is not None:
            self._last[task] = (token, status)


class Answered:
    """Wraps ``session.request(...)`` to note when and how its answer came in."""

    def __init__(self, request: Any, watch: SendWatch, token: str | None) -> None:
        self._request = request
        self._watch = watch
        self._token = token

    async def __aenter__(self) -> Any:
        status = 0  # no answer: the connection broke or timed out
        try:
            response = await self._request.__aenter__()
            status = response.status
            return response
        finally:
            self._watch.on_answer(self._token, status)

    async def __aexit__(self, *exc_info: Any) -> Any:
        return await self._request.__aexit__(*exc_info)


def watch_requests(monkeypatch: Any) -> Iterator[None]:
    """Route ``aiohttp.ClientSession.request`` through the active watch."""
    original = aiohttp.ClientSession.request

    def request(
        self: aiohttp.ClientSession, method: str, url: Any, **kwargs: Any
    ) -> Any:
        watch = SendWatch.active
        if watch is None:
            return original(self, method, url, **kwargs)
        token = watch.on_send(method, url, kwargs.get("headers"))
        return Answered(original(self, method, url, **kwargs), watch, token)

    monkeypatch.setattr(aiohttp.ClientSession, "request", request)
    yield
    SendWatch.active = None


class RecordingStore(SqliteTokenStore):
    """The connector's real SQLite store, telling the watch what it saved."""

    def __init__(self, path: Path, watch: SendWatch) -> None:
        super().__init__(path)
        self._watch = watch
        self.saves = 0

    def save(self, tokens: StoredTokens) -> None:
        super().save(tokens)
        self._watch.latest_saved = tokens.access_token.get_secret_value()
        self.saves += 1


class VirtualTime:
    """A ``sleep`` that moves the fake's frozen clock instead of waiting.

    A sleeper wakes when the clock reaches its deadline. Once every request
    already sent is answered, the sleeper with the earliest deadline moves the
    clock there; so virtual time never overtakes the network, and sleeps that
    overlap in time overlap on the clock instead of adding up.
    """

    def __init__(self, clock: FakeClock, watch: SendWatch, *, real_limit: float = 5.0):
        self.clock = clock
        self.watch = watch
        self.real_limit = real_limit
        self._sleepers: list[tuple[float, int]] = []
        self._tickets = itertools.count()

    async def sleep(self, seconds: float) -> None:
        deadline = self.clock.timestamp() + max(0.0, seconds)
        ticket = (deadline, next(self._tickets))
        self._sleepers.append(ticket)
        give_up = time.monotonic() + self.real_limit
        try:
            while self.clock.timestamp() < deadline:
                if self.quiet() and ticket == min(self._sleepers):
                    self.clock.advance(deadline - self.clock.timestamp())
                    break
                if time.monotonic() > give_up:
                    raise AssertionError(
                        "virtual time is stuck: requests never answered"
                    )
                await asyncio.sleep(0.001)
        finally:
            self._sleepers.remove(ticket)
        await asyncio.sleep(0)

    def quiet(self) -> bool:
        """Whether the clock may move now (no request is waiting for its answer)."""
        return not self.watch.in_flight
