"""The pacer on a virtual clock: bursts, fixed windows, 429 back-off, the daily budget.

The pacer's ``AsyncLimiter`` runs on the loop's clock, so these tests give it a
high rate (it never blocks) and let the window guard, which reads the virtual
clock, do the pacing. Nothing waits for real.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from connector_helpers import START, FakeTime

from connector.errors import DailyBudgetExhausted, DailyBudgetTooSmall, RateLimited
from connector.pacing import (
    DEFAULT_RATE_PER_SECOND,
    Pacer,
    parse_retry_after,
    shared_pacer,
)
from fake_central import FakeClock


@pytest.fixture
def time() -> FakeTime:
    return FakeTime(FakeClock(start=START, frozen=True))


def pacer(time: FakeTime, *, probe_first: bool = False) -> Pacer:
    """A pacer whose bucket never blocks: the window guard paces, on virtual time.

    Most tests here send no answers back, so the probe is off unless asked for.
    """
    return Pacer(
        "client-a",
        rate_per_second=1000.0,
        per_second_limit=7,
        now=time.now,
        sleep=time.sleep,
        jitter=lambda low, high: low,
        probe_first=probe_first,
    )


def elapsed(time: FakeTime) -> float:
    return (time.now() - START).total_seconds()


async def send_times(time: FakeTime, paced: Pacer, count: int) -> list[float]:
    moments: list[float] = []

    async def one() -> None:
        await paced.acquire()
        moments.append(elapsed(time))

    await asyncio.gather(*(one() for _ in range(count)))
    return sorted(moments)


def per_second(moments: list[float], phase: float = 0.0) -> dict[int, int]:
    counts: dict[int, int] = {}
    for moment in moments:
        window = math.floor(moment + phase)
        counts[window] = counts.get(window, 0) + 1
    return counts


def test_the_default_rate_is_a_little_under_centrals_seven_per_second() -> None:
    assert 6.6 < DEFAULT_RATE_PER_SECOND < 7


async def test_the_default_limiter_lets_a_full_window_through_at_once(
    time: FakeTime,
) -> None:
    paced = Pacer("client-a", now=time.now, sleep=time.sleep)

    for _ in range(7):
        assert paced.limiter.has_capacity()
        await paced.limiter.acquire()

    assert paced.burst == 7
    assert not paced.limiter.has_capacity()
    assert paced.span == pytest.approx(7 / DEFAULT_RATE_PER_SECOND)


async def test_a_burst_of_a_full_window_goes_out_at_once(time: FakeTime) -> None:
    moments = await send_times(time, pacer(time), 7)

    assert moments == [0.0] * 7


async def test_the_eighth_call_waits_for_the_window_to_pass(time: FakeTime) -> None:
    paced = pacer(time)

    moments = await send_times(time, paced, 8)

    assert moments[:7] == [0.0] * 7
    assert moments[7] == pytest.approx(paced.span)
    assert paced.span > 1.0


@pytest.mark.parametrize("phase", [0.0, 0.25, 0.5, 0.999])
async def test_no_fixed_second_window_ever_sees_more_than_the_limit(
    time: FakeTime, phase: float
) -> None:
    moments = await send_times(time, pacer(time), 60)

    assert max(per_second(moments, phase).values()) <= 7
    assert len(moments) / (moments[-1] - moments[0]) > 6.5


async def test_the_servers_limit_lowers_the_burst(time: FakeTime) -> None:
    paced = pacer(time)
    paced.observe(
        {"X-RateLimit-Limit-second": "3", "X-RateLimit-Remaining-second": "2"}
    )

    moments = await send_times(time, paced, 4)

    assert paced.burst == 3
    assert moments[:3] == [0.0] * 3
    assert moments[3] > 1.0


async def test_a_rate_above_seven_is_honoured_when_no_limit_is_known(
    time: FakeTime,
) -> None:
    paced = Pacer("client-a", rate_per_second=50.0, now=time.now, sleep=time.sleep)

    assert paced.burst == 50


async def test_zero_remaining_this_second_holds_until_the_window_surely_ended(
    time: FakeTime,
) -> None:
    paced = pacer(time)
    await paced.acquire()
    paced.observe({"X-RateLimit-Remaining-second": "6"})  # opens a window at 0.0
    time.clock.advance(0.3)
    paced.observe({"X-RateLimit-Remaining-second": "0"})  # someone else spent it

    await paced.acquire()

    assert elapsed(time) == pytest.approx(1.0, abs=1e-3)


async def test_a_count_that_goes_up_starts_a_new_window(time: FakeTime) -> None:
    paced = pacer(time)
    paced.observe({"X-RateLimit-Remaining-second": "2"})
    time.clock.advance(0.9)
    paced.observe({"X-RateLimit-Remaining-second": "6"})  # a new window began
    time.clock.advance(0.05)
    paced.observe({"X-RateLimit-Remaining-second": "0"})

    await paced.acquire()

    assert elapsed(time) == pytest.approx(1.9, abs=1e-3)


async def test_acquire_returns_the_send_time(time: FakeTime) -> None:
    paced = pacer(time)
    time.clock.advance(2.5)

    sent = await paced.acquire()

    assert sent == time.now().timestamp()


async def test_a_call_that_spilled_into_the_next_window_shrinks_its_budget(
    time: FakeTime,
) -> None:
    paced = pacer(time)
    sent = [await paced.acquire() for _ in range(7)]
    time.clock.advance(0.1)
    for remaining, sent_at in zip(range(6, 1, -1), sent, strict=False):
        paced.observe({"X-RateLimit-Remaining-second": str(remaining)}, sent_at=sent_at)
    time.clock.advance(0.2)  # the last two arrived after the server's window turned
    for remaining, sent_at in zip((6, 5), sent[5:], strict=True):
        paced.observe({"X-RateLimit-Remaining-second": str(remaining)}, sent_at=sent_at)
    time.clock.set(START + timedelta(seconds=paced.span))

    moments = await send_times(time, paced, 7)

    assert moments[:5] == [pytest.approx(paced.span)] * 5
    assert moments[5:] == [pytest.approx(1.3, abs=1e-3)] * 2


async def test_a_slow_answer_does_not_budget_the_window(time: FakeTime) -> None:
    paced = pacer(time)
    sent_at = await paced.acquire()
    time.clock.advance(0.8)  # answered (or read) late
    paced.observe({"X-RateLimit-Remaining-second": "1"}, sent_at=sent_at)

    moments = await send_times(time, paced, 6)

    assert moments == [pytest.approx(0.8)] * 6


async def test_a_budget_report_is_forgotten_once_its_window_surely_ended(
    time: FakeTime,
) -> None:
    paced = pacer(time)
    sent_at = await paced.acquire()
    paced.observe({"X-RateLimit-Remaining-second": "1"}, sent_at=sent_at)
    await paced.acquire()
    time.clock.advance(1.5)

    moments = await send_times(time, paced, 5)

    assert moments == [pytest.approx(1.5)] * 5


async def test_a_per_second_429_holds_calls_only_until_that_window_ends(
    time: FakeTime,
) -> None:
    paced = pacer(time)
    refusal = {"Retry-After": "1", "X-RateLimit-Remaining-second": "0"}
    paced.observe(refusal)

    delay = paced.back_off(refusal, 0)
    await paced.acquire()

    assert delay == pytest.approx(1.0)
    assert elapsed(time) == pytest.approx(1.0, abs=1e-3)


async def test_a_repeated_per_second_429_adds_little_jitter() -> None:
    time = FakeTime(FakeClock(start=START, frozen=True))
    paced = Pacer(
        "client-a",
        rate_per_second=1000.0,
        now=time.now,
        sleep=time.sleep,
        jitter=lambda low, high: high,
        probe_first=False,
    )
    refusal = {"X-RateLimit-Remaining-second": "0"}
    delays = []

    for attempt in range(6):
        delays.append(paced.back_off(refusal, attempt))
        await paced.acquire()  # waits out the hold, as the retry would

    assert delays == sorted(delays)
    assert 1.0 < delays[0] < delays[-1] <= 1.21


async def test_a_429_holds_every_call_for_the_client_until_retry_after(
    time: FakeTime,
) -> None:
    paced = pacer(time)

    delay = paced.back_off({"Retry-After": "3", "X-RateLimit-Remaining-second": "0"}, 0)
    await paced.acquire()

    assert delay == pytest.approx(3.0)
    assert elapsed(time) == pytest.approx(3.0, abs=1e-3)


async def test_a_429_with_an_http_date_retry_after_is_honoured(time: FakeTime) -> None:
    paced = pacer(time)
    when = format_datetime(START + timedelta(seconds=5), usegmt=True)

    delay = paced.back_off({"Retry-After": when}, 0)

    assert delay == pytest.approx(5.0)


async def test_a_retry_after_date_counts_from_the_servers_date_not_this_clock(
    time: FakeTime,
) -> None:
    # This machine's clock runs an hour fast; the server's Date sets the origin.
    paced = pacer(time)
    server_now = START - timedelta(hours=1)
    headers = {
        "Date": format_datetime(server_now, usegmt=True),
        "Retry-After": format_datetime(server_now + timedelta(seconds=4), usegmt=True),
    }

    delay = paced.back_off(headers, 0)

    assert delay == pytest.approx(4.0)


@pytest.mark.parametrize("junk", ["", "yesterday", "Mon, 99 Foo 2026"])
async def test_a_junk_date_header_falls_back_to_this_clock(
    time: FakeTime, junk: str
) -> None:
    paced = pacer(time)
    when = format_datetime(START + timedelta(seconds=5), usegmt=True)

    delay = paced.back_off({"Date": junk, "Retry-After": when}, 0)

    assert delay == pytest.approx(5.0)


@pytest.mark.parametrize("junk", ["soon", "", "-5", "nan", "Mon, 99 Foo 2026", "١٢"])
async def test_a_429_with_junk_retry_after_backs_off_at_least_a_window(
    time: FakeTime, junk: str
) -> None:
    paced = pacer(time)

    delay = paced.back_off({"Retry-After": junk}, 0)

    assert delay >= 1.0


async def test_back_off_grows_with_each_attempt_and_has_jitter() -> None:
    time = FakeTime(FakeClock(start=START, frozen=True))
    paced = Pacer(
        "client-a",
        rate_per_second=1000.0,
        now=time.now,
        sleep=time.sleep,
        jitter=lambda low, high: high,
    )

    delays = [paced.back_off({}, attempt) for attempt in range(4)]

    assert delays == sorted(delays)
    assert delays[0] > 1.0


def test_parse_retry_after_reads_seconds_and_dates() -> None:
    now = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)

    assert parse_retry_after("2", now) == 2.0
    assert parse_retry_after("Mon, 05 Jan 2026 12:00:10 GMT", now) == 10.0
    assert parse_retry_after("Mon, 05 Jan 2026 11:00:00 GMT", now) == 0.0
    assert parse_retry_after(None, now) is None
    assert parse_retry_after("tomorrow", now) is None


async def test_a_spent_daily_budget_stops_calls_until_midnight_utc(
    time: FakeTime,
) -> None:
    paced = pacer(time)
    paced.observe({"X-RateLimit-Limit-day": "5000", "X-RateLimit-Remaining-day": "0"})

    with pytest.raises(DailyBudgetExhausted) as caught:
        await paced.acquire()

    assert caught.value.reset_at == datetime(2026, 1, 6, tzinfo=UTC)
    assert caught.value.limit == 5000
    assert "another integration" in str(caught.value)


def day_report(remaining: int) -> dict[str, str]:
    return {
        "X-RateLimit-Limit-day": "5000",
        "X-RateLimit-Remaining-day": str(remaining),
    }


async def test_a_budget_that_cannot_cover_the_calls_needed_raises_before_them(
    time: FakeTime,
) -> None:
    paced = pacer(time)
    paced.observe(day_report(40))

    paced.ensure_daily_budget(40)
    with pytest.raises(DailyBudgetTooSmall) as caught:
        paced.ensure_daily_budget(41)

    assert (caught.value.needed, caught.value.remaining) == (41, 40)
    assert caught.value.reset_at == datetime(2026, 1, 6, tzinfo=UTC)
    assert caught.value.limit == 5000


async def test_an_unreported_budget_lets_any_plan_go_ahead(time: FakeTime) -> None:
    pacer(time).ensure_daily_budget(1_000_000)


async def test_yesterdays_report_does_not_hold_todays_plan(time: FakeTime) -> None:
    paced = pacer(time)
    paced.observe(day_report(3))
    time.clock.advance(12 * 3600)  # past 00:00 UTC

    paced.ensure_daily_budget(4000)


async def test_a_spent_budget_is_reported_as_spent_not_as_too_small(
    time: FakeTime,
) -> None:
    paced = pacer(time)
    paced.observe(day_report(0))

    with pytest.raises(DailyBudgetExhausted):
        paced.ensure_daily_budget(1)


async def test_the_daily_budget_comes_back_after_midnight_utc(time: FakeTime) -> None:
    paced = pacer(time)
    paced.observe({"X-RateLimit-Remaining-day": "0"})
    time.clock.set(datetime(2026, 1, 6, 0, 0, 1, tzinfo=UTC))

    await paced.acquire()

    assert paced.remaining_day is None


async def test_a_429_for_the_daily_budget_raises_at_once(time: FakeTime) -> None:
    paced = pacer(time)

    with pytest.raises(DailyBudgetExhausted):
        paced.back_off(
            {"X-RateLimit-Remaining-day": "0", "X-RateLimit-Remaining-second": "3"}, 0
        )


async def test_clients_with_the_same_client_id_share_one_pacer(time: FakeTime) -> None:
    first = shared_pacer(
        "client-a", rate_per_second=6.8, now=time.now, sleep=time.sleep
    )
    again = shared_pacer(
        "client-a", rate_per_second=5.0, now=time.now, sleep=time.sleep
    )
    other = shared_pacer(
        "client-b", rate_per_second=6.8, now=time.now, sleep=time.sleep
    )

    assert first is again
    assert first is not other
    assert again.rate_per_second == 6.8


def test_each_event_loop_gets_its_own_pacer(time: FakeTime) -> None:
    async def make() -> Pacer:
        return shared_pacer(
            "client-a", rate_per_second=6.8, now=time.now, sleep=time.sleep
        )

    assert asyncio.run(make()) is not asyncio.run(make())


@pytest.mark.parametrize("rate", [0, -1, float("nan"), float("inf")])
def test_a_nonsensical_rate_is_refused(time: FakeTime, rate: float) -> None:
    with pytest.raises(ValueError, match="rate_per_second"):
        Pacer("client-a", rate_per_second=rate, now=time.now, sleep=time.sleep)


async def test_a_hold_longer_than_the_caller_accepts_raises_instead_of_waiting(
    time: FakeTime,
) -> None:
    paced = pacer(time)
    paced.back_off({"Retry-After": "3600"}, 0)

    with pytest.raises(RateLimited, match="hold its calls") as caught:
        await paced.acquire(max_wait=60)

    assert caught.value.retry_after == pytest.approx(3600, abs=1)
    assert time.sleeps == []


# -- probe first -------------------------------------------------------------------


async def started(
    time: FakeTime, paced: Pacer, count: int
) -> list[asyncio.Task[float]]:
    """``count`` callers waiting in ``acquire``, given a moment to get going."""
    tasks = [asyncio.create_task(paced.acquire()) for _ in range(count)]
    for _ in range(5):
        await asyncio.sleep(0)
    return tasks


def done(tasks: list[asyncio.Task[float]]) -> list[float]:
    return [task.result() for task in tasks if task.done()]


async def test_a_fresh_pacer_sends_one_call_until_the_server_reports_its_window(
    time: FakeTime,
) -> None:
    paced = pacer(time, probe_first=True)

    tasks = await started(time, paced, 5)
    assert len(done(tasks)) == 1
    assert time.sleeps == []

    # Another process spent five of the seven already: the probe was the sixth.
    time.clock.advance(0.05)
    paced.observe({"X-RateLimit-Remaining-second": "1"}, sent_at=done(tasks)[0])
    moments = sorted([await task - START.timestamp() for task in tasks])

    assert moments[:2] == [0.0, pytest.approx(0.05)]
    assert moments[2:] == [pytest.approx(1.05, abs=1e-3)] * 3


async def test_after_the_first_report_calls_no_longer_wait_for_answers(
    time: FakeTime,
) -> None:
    paced = pacer(time, probe_first=True)
    paced.observe({"X-RateLimit-Remaining-second": "6"}, sent_at=await paced.acquire())

    tasks = await started(time, paced, 6)

    assert len(done(tasks)) == 6


async def test_a_server_that_never_reports_stops_the_probing_after_a_window(
    time: FakeTime,
) -> None:
    paced = pacer(time, probe_first=True)
    for _ in range(paced.burst):
        paced.observe({}, sent_at=await paced.acquire())
    time.clock.advance(paced.span)

    tasks = await started(time, paced, 4)

    assert len(done(tasks)) == 4


@pytest.mark.parametrize(
    "end",
    [
        # An answer without the header (say, from the token endpoint).
        pytest.param(
            lambda paced, sent: paced.observe({}, sent_at=sent), id="unreported"
        ),
        # No answer at all: the connection dropped.
        pytest.param(lambda paced, sent: paced.abandon(sent), id="abandoned"),
    ],
)
async def test_a_probe_that_reported_nothing_lets_the_next_call_probe(
    time: FakeTime, end: Callable[[Pacer, float], object]
) -> None:
    paced = pacer(time, probe_first=True)
    tasks = await started(time, paced, 3)

    end(paced, done(tasks)[0])
    for _ in range(5):
        await asyncio.sleep(0)

    assert len(done(tasks)) == 2
    for task in tasks:
        task.cancel()


async def test_a_caller_cancelled_while_waiting_for_the_probe_leaves_no_trace(
    time: FakeTime,
) -> None:
    paced = pacer(time, probe_first=True)
    probe, waiting = await started(time, paced, 2)
    waiting.cancel()
    paced.observe({"X-RateLimit-Remaining-second": "6"}, sent_at=probe.result())

    tasks = await started(time, paced, 6)

    assert len(done(tasks)) == 6


# -- recent calls --------------------------------------------------------------------


async def test_recent_calls_make_the_next_pacer_wait_out_the_window(
    time: FakeTime,
) -> None:
    first = pacer(time)
    await send_times(time, first, 7)
    time.clock.advance(0.4)  # the next process starts within the same window
    recent = first.recent_calls()
    second = pacer(time)
    second.remember(recent)

    moments = await send_times(time, second, 3)

    assert recent == (START.timestamp(),) * 7
    assert moments == [pytest.approx(first.span)] * 3


async def test_calls_older_than_a_window_span_are_not_kept(time: FakeTime) -> None:
    paced = pacer(time)
    await send_times(time, paced, 3)
    time.clock.advance(paced.span)

    assert paced.recent_calls() == ()


@pytest.mark.parametrize("offset", [-5.0, 3600.0, float("nan"), float("inf")])
async def test_remembered_times_outside_the_last_span_are_ignored(
    time: FakeTime, offset: float
) -> None:
    # Old calls no longer count; "future" ones come from a clock that moved back.
    paced = pacer(time)
    paced.remember([START.timestamp() + offset] * 7)

    moments = await send_times(time, paced, 7)

    assert moments == [0.0] * 7


async def test_remembering_the_same_calls_twice_counts_them_once(
    time: FakeTime,
) -> None:
    first = pacer(time)
    await send_times(time, first, 4)
    second = pacer(time)
    second.remember(first.recent_calls())
    second.remember(first.recent_calls())

    moments = await send_times(time, second, 4)

    assert moments == [0.0, 0.0, 0.0, pytest.approx(second.span)]


async def test_calls_stamped_with_the_same_time_as_the_probe_still_count(
    time: FakeTime,
) -> None:
    # A coarse clock: the probe's answer and the calls after it share one stamp.
    paced = pacer(time, probe_first=True)
    tasks = await started(time, paced, 4)
    paced.observe({"X-RateLimit-Remaining-second": "1"}, sent_at=done(tasks)[0])

    moments = sorted([await task - START.timestamp() for task in tasks])

    assert moments == [
        0.0,
        0.0,
        pytest.approx(1.0, abs=1e-3),
        pytest.approx(1.0, abs=1e-3),
    ]
