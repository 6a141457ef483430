"""Guarded offset pagination, as pure logic: no I/O, no clock, no asyncio.

Central's list endpoints page with ``offset`` and ``limit`` (item counts) and report a
``total``. The sync reads a list in two steps: the first page, which gives the total,
then every remaining offset at once, leaving the pacing to the client's limiter. That
is the minimum number of requests, ``ceil(total / limit)``.

:class:`PageGuard` owns the decisions, so that the driver in ``sync.py`` only fetches:

- which offsets to request (:meth:`PageGuard.next_offsets`), never more than
  ``max_pages`` pages, so no list can loop forever;
- which items of a page are new (:meth:`PageGuard.accept` drops keys already seen);
- whether the list it assembled is complete or partial, and why
  (:meth:`PageGuard.outcome`).

When the first page carries a total, every other offset is planned at once. When it
does not, the guard falls back to reading one page after another and stops on an
empty page, a short page, a page that brings nothing new (the offset did not advance)
or the page cap. A short *first* page is the one exception: without a total it may be
the server capping the page size, so one more page is read to tell, and the list is
then paged by the size of that first page.

A list is *partial* when the total moved between pages, when a page came back shorter
than the total promised, when a key came back twice, when fewer distinct items arrived
than the total announced, or when the page cap cut the list short. The guard does not
re-read: a re-read would spend requests from the same per-second budget and could
drift again. The sync commits a partial list as an addition to the previous snapshot
(nothing is removed on its evidence) and records why it was partial; the next sync
corrects it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["DEFAULT_LIMIT", "DEFAULT_MAX_PAGES", "ListOutcome", "PageGuard"]

DEFAULT_LIMIT = 1000
"""Items per page: the largest page every list endpoint the sync reads accepts."""

DEFAULT_MAX_PAGES = 1000
"""Pages per list at most: a million items, far beyond any single tenant."""

T = TypeVar("T")


@dataclass(frozen=True)
class ListOutcome:
    """What one list read amounted to."""

    name: str
    pages: int
    items: int
    duplicates: int
    expected: int | None
    reasons: tuple[str, ...]

    @property
    def partial(self) -> bool:
        """Whether the list may miss items or hold stale ones."""
        return bool(self.reasons)


class PageGuard(Generic[T]):
    """Decides which pages of one list to read and judges what came back.

    Call :meth:`next_offsets` for offsets to request (it starts with ``[0]``), hand
    every page to :meth:`accept` in any order, ask :meth:`next_offsets` again after
    each page, and stop when it has nothing more and no request is in flight.
    """

    def __init__(
        self,
        name: str,
        *,
        key: Callable[[T], Hashable],
        limit: int = DEFAULT_LIMIT,
        max_pages: int = DEFAULT_MAX_PAGES,
    ) -> None:
        if limit < 1 or max_pages < 1:
            raise ValueError(
                f"limit={limit!r} and max_pages={max_pages!r} must both be at least 1"
            )
        self.name = name
        self.limit = limit
        self.max_pages = max_pages
        self._key = key
        self._seen: set[Hashable] = set()
        self._requested: set[int] = set()
        self._queued: list[int] = [0]
        self._pages = 0
        self._duplicates = 0
        self._expected: int | None = None
        self._page_size = limit
        self._reasons: dict[str, None] = {}

    def next_offsets(self) -> list[int]:
        """Offsets to request now; each offset is handed out once."""
        offsets, self._queued = self._queued, []
        self._requested.update(offsets)
        return offsets

    def accept(self, offset: int, items: Sequence[T], total: int | None) -> list[T]:
        """Take one page; return the items whose key was not seen before."""
        if offset not in self._requested:
            raise ValueError(f"offset={offset!r} was never handed out by this guard")
        first = self._pages == 0
        self._pages += 1
        fresh = self._dedupe(offset, items)

        if first and total is not None and total >= 0:
            # The first page announced a total: plan every remaining page at once.
            self._plan(len(items), total)
        elif first or self._expected is None:
            # No total to plan with: read page after page while each one is full.
            self._follow(offset, len(items), len(fresh))
        else:
            # A planned page: check it against what the first page promised.
            self._check_planned(offset, len(items), total)
        return fresh

    @property
    def received(self) -> int:
        """Distinct items accepted so far."""
        return len(self._seen)

    @property
    def received_pages(self) -> int:
        """Pages accepted so far."""
        return self._pages

    @property
    def expected(self) -> int | None:
        """The total the first page announced, if it announced one."""
        return self._expected

    def outcome(self) -> ListOutcome:
        """The verdict on the list, once every requested page was accepted."""
        reasons = list(self._reasons)
        if self._expected is not None and self.received != self._expected:
            reasons.append(
                f"received {self.received} distinct items, "
                f"the first page announced {self._expected}"
            )
        return ListOutcome(
            name=self.name,
            pages=self._pages,
            items=self.received,
            duplicates=self._duplicates,
            expected=self._expected,
            reasons=tuple(reasons),
        )

    def _dedupe(self, offset: int, items: Sequence[T]) -> list[T]:
        fresh: list[T] = []
        for item in items:
            key = self._key(item)
            if key in self._seen:
                self._duplicates += 1
                continue
            self._seen.add(key)
            fresh.append(item)

        if len(fresh) < len(items):
            self._flag(f"the page at offset {offset} repeated items already read")
        return fresh

    def _plan(self, received: int, total: int) -> None:
        self._expected = total
        if 0 < received < min(self.limit, total) or received > self.limit:
            # The server chose its own page size (a lower cap): page by that instead.
            self._page_size = received
        if received == 0 and total > 0:
            self._flag(f"the first page was empty although the total is {total}")
            return

        pages = math.ceil(total / self._page_size)
        if pages > self.max_pages:
            self._flag(f"stopped at the cap of {self.max_pages} pages ({total} items)")
            pages = self.max_pages
        self._queued = [index * self._page_size for index in range(1, pages)]

    def _follow(self, offset: int, received: int, fresh: int) -> None:
        if received == 0:
            return
        if self._pages == 1 and received < self.limit:
            # Short first page: the end of the list, or the server's own page cap.
            # Only the next page can tell, so read one more, paging by this size.
            self._page_size = received
        elif received < self._page_size:
            return
        if fresh == 0:
            self._flag(f"the offset stopped advancing at {offset}")
            return
        if len(self._requested) >= self.max_pages:
            self._flag(f"stopped at the cap of {self.max_pages} pages")
            return
        self._queued = [offset + received]

    def _check_planned(self, offset: int, received: int, total: int | None) -> None:
        assert self._expected is not None
        if total is not None and total != self._expected:
            self._flag(f"the total changed from {self._expected} to {total} mid-read")
        promised = min(self._page_size, self._expected - offset)
        if received < promised:
            self._flag(
                f"the page at offset {offset} held {received} items, "
                f"expected {promised}"
            )

    def _flag(self, reason: str) -> None:
        self._reasons[reason] = None
