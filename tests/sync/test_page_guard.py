"""The pure page guard: what it requests, what it keeps, what it calls partial."""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector._pagination import ListOutcome, PageGuard

Page = tuple[list[int], int | None]
Server = Callable[[int, int], Page]


def stable_list(
    items: list[int], *, cap: int | None = None, total: bool = True
) -> Server:
    """A server over a list that does not change, optionally capping the page size."""

    def serve(offset: int, limit: int) -> Page:
        size = limit if cap is None else min(limit, cap)
        return items[offset : offset + size], len(items) if total else None

    return serve


def read(guard: PageGuard[int], serve: Server, *, seed: int = 0) -> list[int]:
    """Drive the guard like the sync does, accepting pages in a shuffled order."""
    rng = random.Random(seed)
    pending = guard.next_offsets()
    kept: list[int] = []
    while pending:
        offset = pending.pop(rng.randrange(len(pending)))
        items, total = serve(offset, guard.limit)
        kept += guard.accept(offset, items, total)
        pending += guard.next_offsets()
    return kept


def new_guard(limit: int = 10, max_pages: int = 10_000) -> PageGuard[int]:
    return PageGuard("things", key=lambda item: item, limit=limit, max_pages=max_pages)


@given(
    size=st.integers(min_value=0, max_value=3000),
    limit=st.integers(min_value=1, max_value=1000),
    seed=st.integers(min_value=0, max_value=1000),
)
@settings(max_examples=150, deadline=None)
def test_a_stable_list_is_read_whole_in_the_minimum_number_of_pages(
    size: int, limit: int, seed: int
) -> None:
    items = list(range(size))
    guard = new_guard(limit)

    kept = read(guard, stable_list(items), seed=seed)
    outcome = guard.outcome()

    assert sorted(kept) == items
    assert outcome.pages == max(1, math.ceil(size / limit))
    assert not outcome.partial, outcome.reasons


@given(
    size=st.integers(min_value=1, max_value=3000),
    cap=st.integers(min_value=1, max_value=200),
)
@settings(max_examples=100, deadline=None)
def test_a_server_that_caps_the_page_size_is_paged_by_its_own_size(
    size: int, cap: int
) -> None:
    items = list(range(size))
    guard = new_guard(limit=500)

    kept = read(guard, stable_list(items, cap=cap))

    assert sorted(kept) == items
    assert guard.outcome().pages == math.ceil(size / min(cap, 500))
    assert not guard.outcome().partial


@given(
    total=st.integers(min_value=0, max_value=10**12),
    max_pages=st.integers(min_value=1, max_value=50),
)
@settings(max_examples=100, deadline=None)
def test_no_total_can_make_the_guard_request_more_pages_than_its_cap(
    total: int, max_pages: int
) -> None:
    guard = new_guard(limit=10, max_pages=max_pages)

    def serve(offset: int, limit: int) -> Page:
        return list(range(offset, min(offset + limit, total))), total

    read(guard, serve)

    assert guard.outcome().pages <= max_pages
    assert guard.outcome().partial == (total > 10 * max_pages)


def test_without_a_total_the_guard_reads_until_a_short_page() -> None:
    items = list(range(25))
    guard = new_guard(limit=10)

    kept = read(guard, stable_list(items, total=False))

    assert kept == items
    assert guard.outcome() == ListOutcome("things", 3, 25, 0, None, ())


def test_without_a_total_an_empty_page_ends_the_list() -> None:
    guard = new_guard(limit=10)

    kept = read(guard, stable_list(list(range(20)), total=False))

    assert len(kept) == 20
    assert guard.outcome().pages == 3
    assert not guard.outcome().partial


def test_without_a_total_an_offset_that_does_not_advance_stops_the_read() -> None:
    guard = new_guard(limit=10)

    def ignores_offset(offset: int, limit: int) -> Page:
        return list(range(limit)), None

    kept = read(guard, ignores_offset)

    assert kept == list(range(10))
    assert guard.outcome().pages == 2
    assert "the offset stopped advancing at 10" in guard.outcome().reasons


def test_without_a_total_the_page_cap_ends_an_endless_list() -> None:
    guard = new_guard(limit=10, max_pages=7)

    def endless(offset: int, limit: int) -> Page:
        return list(range(offset, offset + limit)), None

    read(guard, endless)

    assert guard.outcome().pages == 7
    assert guard.outcome().reasons == ("stopped at the cap of 7 pages",)


def test_a_total_that_grows_mid_read_marks_the_list_partial() -> None:
    items = list(range(30))
    guard = new_guard(limit=10)

    def growing(offset: int, limit: int) -> Page:
        if offset > 0:
            items.insert(0, -offset)  # a new item shifts every later one
        return items[offset : offset + limit], len(items)

    read(guard, growing)
    outcome = guard.outcome()

    assert outcome.partial
    assert "the total changed from 30 to 31 mid-read" in outcome.reasons
    assert outcome.duplicates > 0


def test_a_total_that_shrinks_mid_read_marks_the_list_partial() -> None:
    items = list(range(30))
    guard = new_guard(limit=10)

    def shrinking(offset: int, limit: int) -> Page:
        if offset == 20:
            del items[0]
        return items[offset : offset + limit], len(items)

    read(guard, shrinking, seed=3)
    outcome = guard.outcome()

    assert outcome.partial
    assert any("held 9 items, expected 10" in reason for reason in outcome.reasons)


def test_an_empty_page_in_the_middle_marks_the_list_partial() -> None:
    guard = new_guard(limit=10)

    def hole(offset: int, limit: int) -> Page:
        return ([] if offset == 10 else list(range(offset, offset + limit))), 30

    kept = read(guard, hole)

    assert len(kept) == 20
    assert guard.outcome().reasons == (
        "the page at offset 10 held 0 items, expected 10",
        "received 20 distinct items, the first page announced 30",
    )


def test_an_empty_first_page_with_a_positive_total_requests_nothing_more() -> None:
    guard = new_guard(limit=10)

    kept = read(guard, lambda offset, limit: ([], 50))

    assert kept == []
    assert guard.outcome().pages == 1
    assert guard.outcome().partial


def test_offsets_are_handed_out_once() -> None:
    guard = new_guard(limit=10)
    assert guard.next_offsets() == [0]

    guard.accept(0, list(range(10)), 35)

    assert guard.next_offsets() == [10, 20, 30]
    assert guard.next_offsets() == []


def test_a_page_the_guard_never_asked_for_is_refused() -> None:
    guard = new_guard()

    with pytest.raises(ValueError, match="offset=40 was never handed out"):
        guard.accept(40, [1], 50)


def test_a_guard_needs_a_positive_limit_and_cap() -> None:
    with pytest.raises(ValueError, match="must both be at least 1"):
        PageGuard("things", key=str, limit=0)
