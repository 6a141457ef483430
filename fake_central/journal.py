"""The request journal: every exchange the fake answered, with secrets masked.

Entries are stored as compact tuples in a bounded ``collections.deque`` (the
oldest fall off once ``journal_size`` is reached) and turned into ``JournalEntry``
pydantic models only when read, so recording costs the hot path almost nothing.
Query values whose names are sensitive are masked *before* they are stored.
"""

from __future__ import annotations

import threading
from collections import deque
from datetime import UTC, datetime
from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict

__all__ = ["Journal", "JournalEntry", "JournalRecord"]

TokenStateField = Literal[
    "ok", "missing", "expired", "rotated", "unknown", "wrong_cluster"
]


class JournalEntry(BaseModel):
    """One answered (or deliberately unanswered) request.

    ``status`` is 0 when a fault dropped the connection and no answer was sent.
    ``detail`` refines ``outcome`` (e.g. why a refresh token was refused: "used",
    "expired", "unknown"; which budget a 429 spent: "second", "day").
    """

    model_config = ConfigDict(frozen=True)

    seq: int
    time: datetime
    cluster: str
    client_id: str | None
    method: str
    path: str
    query: dict[str, str]
    status: int
    token_state: TokenStateField | None = None
    fault: str | None = None
    grant: Literal["refresh_token"] | None = None
    outcome: str | None = None
    detail: str | None = None


class JournalRecord(NamedTuple):
    """The stored form of an entry (cheap to build on every request)."""

    seq: int
    time: float
    cluster: str
    client_id: str | None
    method: str
    path: str
    query: dict[str, str]
    status: int
    token_state: TokenStateField | None
    fault: str | None
    grant: Literal["refresh_token"] | None
    outcome: str | None
    detail: str | None

    def entry(self) -> JournalEntry:
        fields = self._asdict()
        fields["time"] = datetime.fromtimestamp(self.time, tz=UTC)
        return JournalEntry.model_validate(fields)


class Journal:
    """A bounded, thread-safe log of exchanges."""

    def __init__(self, size: int) -> None:
        self._lock = threading.Lock()
        self._records: deque[JournalRecord] = deque(maxlen=size)
        self._seq = 0

    def __len__(self) -> int:
        return len(self._records)

    def log(
        self,
        time: float,
        cluster: str,
        client_id: str | None,
        method: str,
        path: str,
        query: dict[str, str],
        status: int,
        token_state: TokenStateField | None = None,
        fault: str | None = None,
        grant: Literal["refresh_token"] | None = None,
        outcome: str | None = None,
        detail: str | None = None,
    ) -> int:
        """Record one exchange (``query`` already masked); returns its ``seq``."""
        with self._lock:
            self._seq += 1
            self._records.append(
                JournalRecord(
                    self._seq,
                    time,
                    cluster,
                    client_id,
                    method,
                    path,
                    query,
                    status,
                    token_state,
                    fault,
                    grant,
                    outcome,
                    detail,
                )
            )
            return self._seq

    @property
    def last_seq(self) -> int:
        return self._seq

    def entries(
        self,
        since: int = 0,
        *,
        client_id: str | None = None,
        path: str | None = None,
        limit: int | None = None,
    ) -> list[JournalEntry]:
        """Entries with ``seq > since``, optionally filtered, oldest first."""
        with self._lock:
            records = list(self._records)
        chosen = [
            record
            for record in records
            if record.seq > since
            and (client_id is None or record.client_id == client_id)
            and (path is None or record.path == path)
        ]
        if limit is not None:
            chosen = chosen[:limit]
        return [record.entry() for record in chosen]

    def resize(self, size: int) -> None:
        with self._lock:
            self._records = deque(self._records, maxlen=size)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
