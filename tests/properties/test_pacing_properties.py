"""Properties of the pure parts of ``connector.pacing``.

Header parsing must survive whatever a proxy puts in a header, and the window
guard must never let more calls into one fixed server second than the gateway
allows, whatever the timing of the calls. Time is virtual: ``now`` reads a
number the fake ``sleep`` advances, so nothing here waits for real.
"""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from hypothesis import example, given
from hypothesis import strategies as st

from connector.pacing import (
    Pacer,
    backoff_delay,
    next_utc_midnight,
    parse_rate_headers,
    parse_retry_after,
)

NAMES = [
    "X-RateLimit-Limit-second",
    "X-RateLimit-Remaining-second",
    "X-RateLimit-Limit-day",
    "X-RateLimit-Remaining-day",
]
START = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)

header_values = st.text(max_size=30) | st.integers(-(10**20), 10**20).map(str)
moments = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.just(UTC),
)


@st.composite
def rate_headers(draw: st.DrawFn) -> dict[str, str]:
    names = draw(st.lists(st.sampled_from(NAMES), unique=True))
    headers = {
        draw(st.sampled_from([n, n.lower(), n.upper()])): draw(header_values)
        for n in names
    }
    headers.update(
        draw(st.dictionaries(st.text(max_size=20), header_values, max_size=3))
    )
    return headers


@given(rate_headers())
@example({"X-RateLimit-Remaining-second": "٣"})  # an Arabic-Indic digit
@example({"x-ratelimit-remaining-day": " 12 "})
def test_rate_headers_never_crash_and_give_only_counts(headers: dict[str, str]) -> None:
    rates = parse_rate_headers(headers)

    for value in (
        rates.limit_second,
        rates.remaining_second,
        rates.limit_day,
        rates.remaining_day,
    ):
        assert value is None or (isinstance(value, int) and value >= 0)


@given(
    st.lists(st.integers(min_value=0, max_value=10**9), min_size=4, max_size=4),
    st.data(),
)
def test_well_formed_rate_headers_read_back_in_any_case(
    values: list[int], data: st.DataObject
) -> None:
    spelled = {
        data.draw(st.sampled_from([name, name.lower(), name.upper()])): str(value)
        for name, value in zip(NAMES, values, strict=True)
    }

    rates = parse_rate_headers(spelled)

    assert [
        rates.limit_second,
        rates.remaining_second,
        rates.limit_day,
        rates.remaining_day,
    ] == values


@given(st.none() | st.text(max_size=40), moments)
@example("nan", START)
@example("inf", START)
@example("-1", START)
@example("1e400", START)
@example("Mon, 32 Jan 2026 00:00:00 GMT", START)
@example("Tue, 01 Jan 10000 00:00:00 GMT", START)
def test_retry_after_never_crashes_and_is_never_negative(
    value: str | None, now: datetime
) -> None:
    seconds = parse_retry_after(value, now)

    assert seconds is None or (math.isfinite(seconds) and seconds >= 0)


@given(st.integers(min_value=0, max_value=10**6), moments)
def test_retry_after_in_seconds_reads_back(seconds: int, now: datetime) -> None:
    assert parse_retry_after(f" {seconds} ", now) == seconds


@given(moments, st.integers(min_value=-86_400, max_value=86_400))
def test_retry_after_as_a_date_is_the_time_until_it(now: datetime, offset: int) -> None:
    when = now.replace(microsecond=0) + timedelta(seconds=offset)

    seconds = parse_retry_after(format_datetime(when, usegmt=True), now)

    assert seconds is not None
    assert abs(seconds - max(0.0, (when - now).total_seconds())) < 1e-6


@given(moments)
def test_the_daily_budget_resets_at_the_next_utc_midnight(now: datetime) -> None:
    midnight = next_utc_midnight(now)

    assert midnight > now
    assert midnight - now <= timedelta(days=1)
    assert (midnight.hour, midnight.minute, midnight.second, midnight.microsecond) == (
        0,
        0,
        0,
        0,
    )


@given(st.integers(min_value=0, max_value=60), st.floats(0.01, 5), st.floats(0.01, 60))
def test_backoff_stays_between_half_and_all_of_its_ceiling(
    attempt: int, base: float, cap: float
) -> None:
    ceiling = min(cap, base * 2**attempt)

    low = backoff_delay(attempt, base=base, cap=cap, jitter=lambda a, b: a)
    high = backoff_delay(attempt, base=base, cap=cap, jitter=lambda a, b: b)

    assert math.isclose(low, ceiling / 2)
    assert math.isclose(high, ceiling)


class VirtualTime:
    """``now`` and ``sleep`` for a Pacer: sleeping moves the clock, nothing waits."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def now(self) -> datetime:
        return START + timedelta(seconds=self.seconds)

    async def sleep(self, seconds: float) -> None:
        self.seconds += max(0.0, seconds)
        await asyncio.sleep(0)


@given(
    st.lists(st.floats(min_value=0, max_value=0.6), min_size=1, max_size=40),
    st.integers(min_value=1, max_value=7),
    st.floats(min_value=0, max_value=0.999),
)
def test_the_window_guard_never_fills_a_server_second_beyond_its_limit(
    gaps: list[float], limit: int, phase: float
) -> None:
    # The limiter's own bucket runs on the loop clock; a high rate leaves all the
    # pacing to the window guard, which reads the virtual clock.
    time = VirtualTime()
    time.seconds = phase
    pacer = Pacer(
        "client",
        rate_per_second=1000.0,
        per_second_limit=limit,
        now=time.now,
        sleep=time.sleep,
        probe_first=False,  # no answers come back here to end a probe
    )
    sent: list[float] = []

    async def caller(delay: float) -> None:
        await time.sleep(delay)
        await pacer.acquire()
        sent.append(time.seconds)

    async def burst() -> None:
        await asyncio.gather(*(caller(gap) for gap in gaps))

    asyncio.run(burst())

    per_window: dict[int, int] = {}
    for moment in sent:
        per_window[math.floor(moment)] = per_window.get(math.floor(moment), 0) + 1
    assert max(per_window.values()) <= limit, sorted(sent)
