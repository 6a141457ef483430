"""One clock for everything: frozen, set, advanced, or following real time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fake_central import FakeClock
from fake_central.clock import seconds_until_midnight_utc

START = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def test_a_frozen_clock_moves_only_when_told() -> None:
    clock = FakeClock(start=START, frozen=True)

    clock.advance(90)

    assert clock.now() == datetime(2026, 1, 5, 12, 1, 30, tzinfo=UTC)
    assert clock.now() == clock.now()


def test_setting_the_clock_jumps_to_that_moment() -> None:
    clock = FakeClock(start=START, frozen=True)

    clock.set(datetime(2027, 6, 1, tzinfo=UTC))

    assert clock.now().isoformat() == "2027-06-01T00:00:00+00:00"


def test_a_naive_time_is_refused_with_an_example() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        FakeClock(start=datetime(2026, 1, 5))


def test_a_running_clock_follows_monotonic_time_from_its_set_point(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ticks = iter([100.0, 100.0, 103.5, 110.0])
    monkeypatch.setattr("fake_central.clock.time.monotonic", lambda: next(ticks))
    clock = FakeClock(start=START)

    clock.set(START)
    later = clock.now()
    clock.freeze()

    assert later == datetime(2026, 1, 5, 12, 0, 3, 500_000, tzinfo=UTC)
    assert clock.frozen


def test_unfreezing_resumes_from_the_frozen_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ticks = iter([0.0, 50.0, 52.0])
    monkeypatch.setattr("fake_central.clock.time.monotonic", lambda: next(ticks))
    clock = FakeClock(start=START, frozen=True)

    clock.unfreeze()
    resumed = clock.now()

    assert resumed == datetime(2026, 1, 5, 12, 0, 2, tzinfo=UTC)
    assert not clock.frozen


def test_the_daily_reset_is_at_midnight_utc() -> None:
    just_before = datetime(2026, 1, 5, 23, 59, 30, tzinfo=UTC).timestamp()

    assert seconds_until_midnight_utc(just_before) == 30


def test_the_clock_repr_shows_time_and_state() -> None:
    assert repr(FakeClock(start=START, frozen=True)) == (
        "FakeClock(2026-01-05T12:00:00+00:00, frozen)"
    )
