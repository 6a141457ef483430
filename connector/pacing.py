"""Pacing: stay under Central's per-second limit, back off on 429, mind the day.

Central counts calls in fixed one-second windows (7 per window) and per UTC day,
per account, and reports both in ``X-RateLimit-*`` headers. A plain leaky bucket
does not fit a fixed window: ``AsyncLimiter(7, 1)`` lets 7 through at once and
then one every 1/7 s, so the first second can see 13 calls. :class:`Pacer` layers
three things, all shared by every client with the same client id in one event
loop:

1. an ``aiolimiter.AsyncLimiter`` with room for a full window's burst that
   drains at the configured rate (6.8/s by default, a little under 7);
2. a window guard: never more than ``burst`` calls in any span of
   ``burst / rate`` seconds (at least one second plus a small margin), so no
   fixed server window sees more than ``burst``, whatever the latency. ``burst``
   is ceil(rate) (7 by default), lowered to ``per_second_limit`` when given and
   to the server's ``X-RateLimit-Limit-second`` once seen;
3. the server's word. ``X-RateLimit-Remaining-second`` is a budget for the
   server's current window: a response saying ``r`` calls remain, for a request
   sent at ``t`` and answered within half a second, leaves ``r`` minus the calls
   sent after ``t`` for the rest of that window. Once that is spent (a request
   that arrived late and spilled into the next window, or someone else sharing
   the account), nothing is sent until the window has surely ended. A 429 for
   the per-second budget holds every call for the client id just as long: until
   that window ends, not a whole ``Retry-After`` second plus jitter. Any other
   429 waits for ``Retry-After`` (or a window) plus growing jitter.
   ``X-RateLimit-Remaining-day`` of 0 raises ``DailyBudgetExhausted`` before any
   further I/O until 00:00 UTC.

Two more habits keep a fresh start inside the window:

* **Probe first.** Until an answer has reported the server's window
  (``X-RateLimit-Remaining-second``), one call is in flight at a time. Another
  process, or another integration on the same account, may have spent part of
  the current window already; the first answer says how much is left, and the
  window budget above does the rest. An answer without the header, or a call
  that got no answer, lets the next call probe; after ``burst`` answers without
  it the pacer stops waiting for a report the server does not send.
  ``Pacer(probe_first=False)`` skips the probe.
* **Recent calls outlive the process.** :meth:`Pacer.recent_calls` lists the
  send times of the last window span and :meth:`Pacer.remember` takes such a
  list back, so a client can keep them in its store at exit and the next
  process on the machine starts where this one stopped (``connector.client``
  does this when its token store can hold them: see
  ``connector.tokens.RecentCallsStore``).

The server window that holds a request ends at most one second after the
request arrived, and it arrived before its response was received. So the end of
the current window is bounded by "receive time of the first response seen in
this window + 1 s"; a new window is recognised when the remaining count does not
go down (or more than a second has passed).

The guard's margin (7 calls per 7/6.8 s, not per second) makes its bursts drift
against the server's windows by about 0.03 s a window, so about one window in
35 gets none: that is how 6.8/s comes out of bursts of 7.

Time is injected: ``now`` (aware UTC datetime) and ``sleep`` (awaitable), so tests
move a fake clock. The ``AsyncLimiter`` runs on the loop's own clock; tests that
must not wait give it a high rate and let the window guard do the pacing.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import weakref
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import UTC, date, datetime

from aiolimiter import AsyncLimiter

from connector._rate_headers import (
    RateHeaders,
    header,
    next_utc_midnight,
    parse_rate_headers,
    parse_retry_after,
    server_date,
)
from connector.errors import DailyBudgetExhausted, DailyBudgetTooSmall, RateLimited

__all__ = [
    "DEFAULT_PER_SECOND_LIMIT",
    "DEFAULT_RATE_PER_SECOND",
    "Now",
    "Pacer",
    "RateHeaders",
    "Sleep",
    "backoff_delay",
    "next_utc_midnight",
    "parse_rate_headers",
    "parse_retry_after",
    "shared_pacer",
]

logger = logging.getLogger("connector.pacing")

Now = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]
Jitter = Callable[[float, float], float]

DEFAULT_RATE_PER_SECOND = 6.8
DEFAULT_PER_SECOND_LIMIT = 7
WINDOW_MARGIN = 0.02
_WINDOW = 1.0
_EPSILON = 1e-6
_FRESH_REPORT = 0.5 * _WINDOW


def backoff_delay(
    attempt: int, *, base: float = 0.5, cap: float = 8.0, jitter: Jitter
) -> float:
    """Exponential back-off with jitter: half to all of ``base * 2**attempt``."""
    ceiling = min(cap, base * (2**attempt))
    return jitter(ceiling / 2, ceiling)


class Pacer:
    """Pacing state of one client id in one event loop (see the module docstring)."""

    def __init__(
        self,
        client_id: str,
        *,
        rate_per_second: float = DEFAULT_RATE_PER_SECOND,
        per_second_limit: int | None = None,
        now: Now,
        sleep: Sleep,
        jitter: Jitter = random.uniform,
        probe_first: bool = True,
    ) -> None:
        if rate_per_second <= 0 or not math.isfinite(rate_per_second):
            raise ValueError(
                f"rate_per_second must be a positive number, not {rate_per_second!r}"
            )
        if per_second_limit is not None and per_second_limit < 1:
            raise ValueError(
                f"per_second_limit must be at least 1, not {per_second_limit!r}"
            )
        self.client_id = client_id
        self.rate_per_second = rate_per_second
        self._configured_limit = per_second_limit
        self._server_limit: int | None = None
        self._now = now
        self._sleep = sleep
        self._jitter = jitter

        capacity = math.ceil(rate_per_second)
        self.limiter = AsyncLimiter(capacity, capacity / rate_per_second)
        self._sent: deque[float] = deque()
        self._hold_until = 0.0
        self._window_anchor: float | None = None
        self._last_remaining: int | None = None
        # (send time, remaining) reported in the current server window.
        self._window_reports: list[tuple[float, int]] = []
        self.limit_day: int | None = None
        self.remaining_day: int | None = None
        self._day_reported: date | None = None  # the UTC day remaining_day is for
        self._day_resets_at: datetime | None = None
        # Probe first: until a report of the server's window arrives, one call
        # at a time. ``_probe_over`` is set while no probe is in flight.
        self._reported = not probe_first
        self._unreported_answers = 0
        self._probe: float | None = None
        self._probe_over = asyncio.Event()
        self._probe_over.set()

    def __repr__(self) -> str:
        return (
            f"Pacer(client_id={self.client_id!r}, "
            f"rate_per_second={self.rate_per_second}, "
            f"burst={self.burst}, remaining_day={self.remaining_day})"
        )

    @property
    def burst(self) -> int:
        """Calls allowed in one window: ceil(rate), or a lower known limit.

        The limits are ``per_second_limit`` when given and the server's
        ``X-RateLimit-Limit-second`` once seen.
        """
        burst = math.ceil(self.rate_per_second)
        for limit in (self._configured_limit, self._server_limit):
            if limit is not None:
                burst = min(burst, limit)
        return max(1, burst)

    @property
    def span(self) -> float:
        """No more than ``burst`` calls are sent in any span of this many seconds."""
        return max(_WINDOW + WINDOW_MARGIN, self.burst / self.rate_per_second)

    async def acquire(self, *, max_wait: float = math.inf) -> float:
        """Wait until one more call may be sent; return the send time (seconds).

        Pass the send time to :meth:`observe` with the response's headers, or to
        :meth:`abandon` when no response came: until the server has reported its
        window, the next call waits for one of the two. Raises
        ``DailyBudgetExhausted`` while the day's budget is spent, and
        ``RateLimited`` when a 429 asked every call to wait longer than
        ``max_wait`` seconds.
        """
        self.check_daily_budget()
        await self.limiter.acquire()
        while True:
            if self._probe is not None:
                await self._probe_over.wait()
                continue
            now = self._seconds()
            held = self._hold_until - now
            if held > max_wait:
                raise RateLimited(
                    f"Central asked client id {self.client_id!r} to hold its calls "
                    f"for {held:.0f} s more; another integration may share this "
                    "client id or account. Try again after that",
                    retry_after=held,
                )
            wait = max(held, self._window_wait(now))
            if wait <= _EPSILON:
                break
            await self._sleep(wait)
            self.check_daily_budget()
        # No await since the probe check above: this call is the only probe.
        sent = self._seconds()
        self._sent.append(sent)
        if not self._reported:
            self._probe = sent
            self._probe_over.clear()
        return sent

    def abandon(self, sent_at: float) -> None:
        """The call :meth:`acquire` let out at ``sent_at`` got no answer.

        Call it (instead of :meth:`observe`) when the request failed or was
        cancelled, so that the next call may probe the server's window.
        """
        if self._probe == sent_at:
            self._end_probe()

    def recent_calls(self) -> tuple[float, ...]:
        """Send times (epoch seconds) of the calls that still count for pacing.

        These are the calls of the last window span; :meth:`remember` on another
        pacer (say, in the next process) makes it pace as if it had sent them.
        """
        now = self._seconds()
        return tuple(sent for sent in self._sent if now - self.span < sent <= now)

    def remember(self, sent: Iterable[float]) -> None:
        """Count calls sent elsewhere (see :meth:`recent_calls`) for pacing.

        Times outside the last window span are ignored, and so are times in the
        future (a clock that moved back must not hold calls for hours).
        """
        now = self._seconds()
        fresh = Counter(
            moment
            for moment in sent
            if math.isfinite(moment) and now - self.span < moment <= now
        )
        # A call already counted here (the same time, as often) is not added again.
        merged = Counter(self._sent) | fresh
        if merged != Counter(self._sent):
            self._sent = deque(sorted(merged.elements()))

    def check_daily_budget(self) -> None:
        """Raise ``DailyBudgetExhausted`` while the server said none is left today."""
        if self.remaining_day != 0 or self._day_resets_at is None:
            return
        if self._now() >= self._day_resets_at:
            self.remaining_day = None
            self._day_resets_at = None
            return
        raise DailyBudgetExhausted(
            client_id=self.client_id, reset_at=self._day_resets_at, limit=self.limit_day
        )

    def ensure_daily_budget(self, calls: int) -> None:
        """Raise unless today's budget, as last reported, covers ``calls`` more.

        Raises ``DailyBudgetExhausted`` when it is spent and ``DailyBudgetTooSmall``
        when fewer than ``calls`` are left; does nothing while no answer of today
        reported it.
        """
        self.check_daily_budget()
        left = self.remaining_day
        if left is None or calls <= left:
            return
        now = self._now()
        if self._day_reported != now.astimezone(UTC).date():
            return  # reported on an earlier UTC day: it has been reset since
        raise DailyBudgetTooSmall(
            client_id=self.client_id,
            needed=calls,
            remaining=left,
            limit=self.limit_day,
            reset_at=next_utc_midnight(now),
        )

    def observe(
        self, headers: Mapping[str, str], *, sent_at: float | None = None
    ) -> RateHeaders:
        """Learn from a response's rate-limit headers (any status).

        ``sent_at``, the value :meth:`acquire` returned for the request, lets the
        remaining count budget the rest of the server's window.
        """
        rates = parse_rate_headers(headers)
        received = self._seconds()
        if not self._reported:
            self._unreported_answers += rates.remaining_second is None
            self._reported = (
                rates.remaining_second is not None
                or self._unreported_answers >= self.burst
            )
        if self._probe is not None:
            self._end_probe()
        if rates.limit_second is not None:
            self._server_limit = rates.limit_second
        if rates.remaining_second is not None:
            self._observe_second(rates.remaining_second, received, sent_at)
        if rates.remaining_day is not None:
            self._observe_day(rates)
        return rates

    def back_off(self, headers: Mapping[str, str], attempt: int) -> float:
        """After a 429: hold every request for this client id; return the delay.

        The answer's headers should already have gone through :meth:`observe`
        (the client observes every answer). Raises ``DailyBudgetExhausted`` when
        the day's budget is what ran out.
        """
        rates = parse_rate_headers(headers)
        if rates.remaining_day == 0:
            self._observe_day(rates)
            self.check_daily_budget()
        now = self._now()
        # A Retry-After date counts from the server's own Date, when it sent one:
        # this machine's clock may be off by more than the wait itself.
        retry_after = parse_retry_after(
            header(headers, "retry-after"), server_date(headers) or now
        )
        if _second_spent(rates, retry_after):
            # The window that refused this call ends within a second of now (and
            # within Retry-After, when sent): wait for that, not for a jittered
            # second or more. Any longer hold already set stays.
            ends = _WINDOW + _EPSILON
            if retry_after is not None:
                ends = min(ends, retry_after)
            floor = max(ends, self._hold_until - now.timestamp())
            delay = floor + self._jitter(0.0, min(0.2, 0.025 * (2**attempt)))
        else:
            if retry_after is not None:
                floor = retry_after
            else:
                floor = max(self._hold_until - now.timestamp(), _WINDOW)
            delay = floor + self._jitter(0.0, min(4.0, 0.25 * (2**attempt)))
        self._hold_until = max(self._hold_until, now.timestamp() + delay)
        logger.info(
            "429 for client id %s: holding its requests for %.2f s (attempt %d)",
            self.client_id,
            delay,
            attempt + 1,
        )
        return delay

    def _end_probe(self) -> None:
        self._probe = None
        self._probe_over.set()

    def _window_wait(self, now: float) -> float:
        span = self.span
        while self._sent and self._sent[0] <= now - span:
            self._sent.popleft()
        wait = 0.0
        if len(self._sent) >= self.burst:
            wait = self._sent[-self.burst] + span - now
        return max(wait, self._budget_wait(now))

    def _budget_wait(self, now: float) -> float:
        """Until the server's window surely ends, if its reported budget is spent."""
        anchor = self._window_anchor
        if anchor is None or not self._window_reports:
            return 0.0
        ends = anchor + _WINDOW + _EPSILON
        if now >= ends:
            self._window_reports.clear()
            return 0.0
        left = min(
            remaining - self._sent_since(sent_at)
            for sent_at, remaining in self._window_reports
        )
        return ends - now if left <= 0 else 0.0

    def _sent_since(self, sent_at: float) -> int:
        """Calls sent after the one sent at ``sent_at``, as far as the clock tells.

        A coarse clock stamps several calls with the same time; all of them but
        the reported call itself count, which errs on the safe side.
        """
        after = sum(1 for sent in self._sent if sent > sent_at)
        alike = sum(1 for sent in self._sent if sent == sent_at)
        return after + max(0, alike - 1)

    def _observe_second(
        self, remaining: int, received: float, sent_at: float | None
    ) -> None:
        anchor, last = self._window_anchor, self._last_remaining
        # A count that does not go down, or an anchor over a second old, means
        # this response belongs to a newer window than the anchor's.
        if (
            anchor is None
            or last is None
            or remaining >= last
            or received >= anchor + _WINDOW
        ):
            self._window_anchor = anchor = received
            self._window_reports.clear()
        self._last_remaining = remaining
        # A slow answer (or one read late) says little about which window the
        # calls sent since then fall in; only quick ones budget the window.
        if sent_at is not None and received - sent_at <= _FRESH_REPORT:
            self._window_reports.append((sent_at, remaining))
        if remaining == 0:
            self._hold_until = max(self._hold_until, anchor + _WINDOW + _EPSILON)
            logger.debug(
                "no calls left in this second for client id %s; holding %.3f s",
                self.client_id,
                self._hold_until - received,
            )

    def _observe_day(self, rates: RateHeaders) -> None:
        self.remaining_day = rates.remaining_day
        self._day_reported = self._now().astimezone(UTC).date()
        if rates.limit_day is not None:
            self.limit_day = rates.limit_day
        if rates.remaining_day == 0 and self._day_resets_at is None:
            self._day_resets_at = next_utc_midnight(self._now())
            logger.warning(
                "daily API budget for client id %s is spent; calls resume after %s",
                self.client_id,
                self._day_resets_at.isoformat(),
            )

    def _seconds(self) -> float:
        return self._now().timestamp()


_PACERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Pacer]] = (
    weakref.WeakKeyDictionary()
)


def shared_pacer(
    client_id: str,
    *,
    rate_per_second: float,
    per_second_limit: int | None = None,
    now: Now,
    sleep: Sleep,
    jitter: Jitter = random.uniform,
) -> Pacer:
    """The pacer for ``client_id`` in the running loop, created on first use.

    Every client with the same client id in this loop shares it; the first one
    sets its rate and clock. (Limiters are per loop: ``aiolimiter`` objects must
    not be shared across event loops.)
    """
    loop = asyncio.get_running_loop()
    pacers = _PACERS.setdefault(loop, {})
    pacer = pacers.get(client_id)
    if pacer is None:
        pacer = pacers[client_id] = Pacer(
            client_id,
            rate_per_second=rate_per_second,
            per_second_limit=per_second_limit,
            now=now,
            sleep=sleep,
            jitter=jitter,
        )
    elif pacer.rate_per_second != rate_per_second:
        logger.debug(
            "client id %s is already paced at %.2f/s in this loop; keeping that rate",
            client_id,
            pacer.rate_per_second,
        )
    return pacer


def _second_spent(rates: RateHeaders, retry_after: float | None) -> bool:
    """Whether a 429 is about the per-second window (not the day, not unknown)."""
    return (
        rates.remaining_second == 0
        and rates.remaining_day != 0
        and (retry_after is None or retry_after <= _WINDOW)
    )
