"""Per-second and per-day request budgets, like the gateway's Kong rate limiting.

Both windows are fixed and read the fake clock: the second window is the whole
second of the fake time, the day window is the UTC date (it resets at 00:00 UTC).
A refused request (429) is not counted, and the remaining counts never go below
zero. Budgets are kept per client id by default, or per customer (the documented
account-wide behaviour) when ``rate_limit_scope == "customer"``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from fake_central.clock import FakeClock, seconds_until_midnight_utc
from fake_central.config import FakeConfig

__all__ = ["Budget", "RateLimiter", "Verdict"]

_DAY = 86_400


@dataclass(slots=True)
class Budget:
    """The counters of one key (a client id or a customer id)."""

    second: int = -1
    second_used: int = 0
    day: int = -1
    day_used: int = 0


@dataclass(slots=True, frozen=True)
class Verdict:
    """What the limiter decided, and the header values to send with it."""

    allowed: bool
    headers: dict[str, str]
    exhausted: str | None = None  # "second" | "day" when refused


class RateLimiter:
    """Fixed-window counters keyed by client or customer."""

    def __init__(self, clock: FakeClock, config: FakeConfig) -> None:
        self.clock = clock
        self.config = config
        self._budgets: dict[str, Budget] = {}

    def key_for(self, client_id: str, customer_id: str) -> str:
        if self.config.rate_limit_scope == "customer":
            return f"customer:{customer_id}"
        return f"client:{client_id}"

    def take(self, key: str, *, enforce: bool = True) -> Verdict:
        """Count one request against ``key`` unless a budget is spent.

        With ``enforce`` off nothing is counted or refused, yet the headers are
        still sent, reporting the whole budget as remaining: Central sends them on
        every API response, and a client that trusts them must not slow down or
        stop for a budget nobody enforces.
        """
        if not enforce:
            return Verdict(True, self._headers(Budget()))
        now = self.clock.timestamp()
        budget = self._current(key, now)
        per_second, per_day = self.config.per_second_limit, self.config.per_day_limit

        if budget.day_used >= per_day:
            return self._refusal(budget, now, "day")
        if budget.second_used >= per_second:
            return self._refusal(budget, now, "second")

        budget.second_used += 1
        budget.day_used += 1
        return Verdict(True, self._headers(budget))

    def remaining(self, key: str) -> dict[str, int]:
        """Remaining calls in the current windows, for the control API."""
        budget = self._current(key, self.clock.timestamp())
        return {
            "second": max(0, self.config.per_second_limit - budget.second_used),
            "day": max(0, self.config.per_day_limit - budget.day_used),
        }

    def reset(self) -> None:
        self._budgets.clear()

    def _current(self, key: str, now: float) -> Budget:
        budget = self._budgets.get(key)
        if budget is None:
            budget = self._budgets[key] = Budget()
        second, day = int(now), int(now // _DAY)
        if budget.second != second:
            budget.second, budget.second_used = second, 0
        if budget.day != day:
            budget.day, budget.day_used = day, 0
        return budget

    def _headers(self, budget: Budget) -> dict[str, str]:
        per_second, per_day = self.config.per_second_limit, self.config.per_day_limit
        return {
            "X-RateLimit-Limit-second": str(per_second),
            "X-RateLimit-Remaining-second": str(
                max(0, per_second - budget.second_used)
            ),
            "X-RateLimit-Limit-day": str(per_day),
            "X-RateLimit-Remaining-day": str(max(0, per_day - budget.day_used)),
        }

    def _refusal(self, budget: Budget, now: float, exhausted: str) -> Verdict:
        headers = self._headers(budget)
        if exhausted == "second":
            headers["X-RateLimit-Remaining-second"] = "0"
        if self.config.retry_after_header:
            wait = 1.0 - (now % 1.0) if exhausted == "second" else None
            if wait is None:
                wait = seconds_until_midnight_utc(now)
            headers["Retry-After"] = str(max(1, math.ceil(wait)))
        return Verdict(False, headers, exhausted)
