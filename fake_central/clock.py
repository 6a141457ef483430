"""The one clock of the fake.

Token expiry, the 30-minute mint window, the per-second and per-day rate-limit
windows and fault time windows all read this clock. It can be frozen (it moves
only when told), set to a point in time, and advanced. When not frozen it follows
real (monotonic) time from its last set point, so a running demo behaves like a
real gateway while a test moves time in named steps without sleeping.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

__all__ = ["FakeClock"]


class FakeClock:
    """A settable, freezable UTC clock.

    >>> clock = FakeClock(start=datetime(2026, 1, 5, 12, 0, tzinfo=UTC), frozen=True)
    >>> clock.advance(90)
    >>> clock.now().isoformat()
    '2026-01-05T12:01:30+00:00'
    """

    def __init__(self, start: datetime | None = None, *, frozen: bool = False) -> None:
        self._lock = threading.Lock()
        self._base = _as_epoch(start) if start is not None else time.time()
        self._mono = time.monotonic()
        self._frozen = frozen

    @property
    def frozen(self) -> bool:
        """True when the clock moves only through ``advance`` and ``set``."""
        return self._frozen

    def timestamp(self) -> float:
        """Seconds since the Unix epoch on the fake clock (the hot-path reader)."""
        if self._frozen:
            return self._base
        return self._base + (time.monotonic() - self._mono)

    def now(self) -> datetime:
        """The fake's current time as an aware UTC datetime."""
        return datetime.fromtimestamp(self.timestamp(), tz=UTC)

    def advance(self, seconds: float) -> None:
        """Move the clock forward (or back, with a negative value) by ``seconds``."""
        with self._lock:
            self._base += seconds

    def set(self, moment: datetime) -> None:
        """Jump to ``moment`` (an aware datetime; naive values are refused)."""
        with self._lock:
            self._base = _as_epoch(moment)
            self._mono = time.monotonic()

    def freeze(self) -> None:
        """Stop following real time; the clock now moves only when told."""
        with self._lock:
            self._base = self.timestamp()
            self._frozen = True

    def unfreeze(self) -> None:
        """Follow real time again, starting from the current fake time."""
        with self._lock:
            self._base = self.timestamp()
            self._mono = time.monotonic()
            self._frozen = False

    def __repr__(self) -> str:
        state = "frozen" if self._frozen else "running"
        return f"FakeClock({self.now().isoformat()}, {state})"


def _as_epoch(moment: datetime) -> float:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(
            f"clock time {moment.isoformat()!r} has no time zone; pass an aware "
            "datetime such as datetime(2026, 1, 5, tzinfo=UTC)"
        )
    return moment.timestamp()


def seconds_until_midnight_utc(timestamp: float) -> float:
    """Seconds from ``timestamp`` to the next 00:00 UTC (the daily quota reset)."""
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    midnight = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    return (midnight + timedelta(days=1)).timestamp() - timestamp
