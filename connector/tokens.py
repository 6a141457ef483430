"""Where rotated token pairs live: one small protocol, three stores.

Central rotates the refresh token on every refresh and the old one dies at once,
so the newest pair is the only way back in. The stores here keep it safe:

* **Atomic and durable.** ``JsonFileTokenStore`` writes a temporary file in the
  same directory, ``fsync``s it, renames it over the old one and ``fsync``s the
  directory; ``SqliteTokenStore`` writes one row in one ``BEGIN IMMEDIATE``
  transaction with ``synchronous=FULL``. Files are created with mode 0600.
* **Locked across processes.** ``lock(client_id)`` is an exclusive ``flock`` on a
  lock file next to the store. The refresh code (``connector.auth``) holds it
  while it re-reads the store, refreshes and writes the new pair, so two
  processes sharing a store never spend each other's refresh token. The kernel
  drops the lock when a process dies, even on SIGKILL.
* **Pasted pairs.** Each record remembers which pasted pair its chain descends
  from (``origin``, a one-way fingerprint, never the token) and the origins it
  replaced (``superseded``), so a newly pasted pair replaces the chain while a
  stale copy of an older paste does not.

* **Recent calls.** All three stores also implement ``RecentCallsStore``: they
  keep the send times of a client id's last calls, so that the next process
  paces as if it had made them (see ``connector.pacing``). That record is
  advisory: a damaged one reads as empty.

The SQLite store takes the cross-process lock on a side file rather than holding
a write transaction open across the refresh's network round trip: the same
database file usually holds the sync data too, and a long write lock there would
stall its writers.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import math
import os
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from connector.errors import TokenStoreError

__all__ = [
    "JsonFileTokenStore",
    "MemoryTokenStore",
    "RecentCallsStore",
    "SqliteTokenStore",
    "StoredTokens",
    "TokenStore",
]

logger = logging.getLogger("connector.tokens")

_FILE_MODE = 0o600
_FORMAT_VERSION = 1
_LOCK_POLL_SECONDS = 0.01
_DEFAULT_LOCK_TIMEOUT = 60.0
_ADVICE_LOCK_TIMEOUT = 2.0
_SUPERSEDED_KEPT = 20


class StoredTokens(BaseModel):
    """One client id's current access/refresh pair and where it came from.

    ``generation`` grows by one with every pair written for the client id;
    ``origin`` fingerprints the pasted pair this chain descends from and
    ``superseded`` lists the fingerprints of pasted pairs it replaced.
    ``expires_at`` is ``None`` when unknown (a pasted pair's expiry is).
    ``rejected`` holds why Central refused this pair's refresh token, so that a
    later process stops at once instead of sending the dead pair again; a newly
    pasted pair clears it.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    client_id: str
    access_token: SecretStr
    refresh_token: SecretStr
    expires_at: datetime | None = None
    obtained_at: datetime
    generation: int = Field(ge=0)
    origin: str
    superseded: tuple[str, ...] = ()
    rejected: str | None = None

    def same_pair(self, other: StoredTokens | None) -> bool:
        """Whether ``other`` holds the same access and refresh token."""
        return (
            other is not None
            and self.access_token.get_secret_value()
            == other.access_token.get_secret_value()
            and self.refresh_token.get_secret_value()
            == other.refresh_token.get_secret_value()
        )

    def to_record(self) -> dict[str, Any]:
        """A JSON-ready dict with the real secret values (for stores only)."""
        return {
            "client_id": self.client_id,
            "access_token": self.access_token.get_secret_value(),
            "refresh_token": self.refresh_token.get_secret_value(),
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "obtained_at": self.obtained_at.isoformat(),
            "generation": self.generation,
            "origin": self.origin,
            "superseded": list(self.superseded[-_SUPERSEDED_KEPT:]),
            "rejected": self.rejected,
        }


@runtime_checkable
class TokenStore(Protocol):
    """Durable, cross-process storage of one pair per client id.

    ``load`` and ``save`` are blocking and quick; the connector runs them off the
    event loop. ``save`` must be atomic and durable when it returns. ``lock``
    must exclude other processes (and other store objects in this process) for
    the same client id while it is held.
    """

    def load(self, client_id: str) -> StoredTokens | None:
        """The stored pair for ``client_id``, or ``None``."""
        ...

    def save(self, tokens: StoredTokens) -> None:
        """Replace the stored pair for ``tokens.client_id``."""
        ...

    def lock(self, client_id: str) -> contextlib.AbstractContextManager[None]:
        """An exclusive, blocking, cross-process lock for ``client_id``."""
        ...


@runtime_checkable
class RecentCallsStore(Protocol):
    """A store that also keeps the send times of a client id's recent calls.

    The times are epoch seconds. ``connector.client`` saves them when a client
    closes and hands them to the next client's pacer, so that two processes run
    one after the other stay inside Central's per-second window together. A
    missing or damaged record loads as empty; these methods never raise for it.
    """

    def load_recent_calls(self, client_id: str) -> tuple[float, ...]:
        """The saved send times for ``client_id`` (empty when none)."""
        ...

    def save_recent_calls(self, client_id: str, sent: Sequence[float]) -> None:
        """Replace the saved send times for ``client_id``."""
        ...


class MemoryTokenStore:
    """A store that lives only as long as this object: tests and throwaway runs.

    A rotated refresh token kept here is lost when the process exits.
    """

    def __init__(self) -> None:
        self._records: dict[str, StoredTokens] = {}
        self._recent_calls: dict[str, tuple[float, ...]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MemoryTokenStore(client_ids={sorted(self._records)!r})"

    def load(self, client_id: str) -> StoredTokens | None:
        return self._records.get(client_id)

    def save(self, tokens: StoredTokens) -> None:
        self._records[tokens.client_id] = tokens

    @contextlib.contextmanager
    def lock(self, client_id: str) -> Iterator[None]:
        with self._lock:
            yield

    def load_recent_calls(self, client_id: str) -> tuple[float, ...]:
        return self._recent_calls.get(client_id, ())

    def save_recent_calls(self, client_id: str, sent: Sequence[float]) -> None:
        self._recent_calls[client_id] = tuple(sent)


class JsonFileTokenStore:
    """All client ids' pairs in one JSON file, replaced atomically on every save.

    The document is ``{"version": 1, "clients": {client id: record}}``, plus
    ``"recent_calls": {client id: [epoch seconds]}`` once a client saved them.
    """

    def __init__(
        self, path: str | Path, *, lock_timeout: float = _DEFAULT_LOCK_TIMEOUT
    ) -> None:
        self.path = Path(path)
        self._lock_path = self.path.with_name(self.path.name + ".lock")
        self._lock_timeout = lock_timeout

    def __repr__(self) -> str:
        return f"JsonFileTokenStore({str(self.path)!r})"

    def load(self, client_id: str) -> StoredTokens | None:
        record = self._read_document()["clients"].get(client_id)
        return None if record is None else _parse_record(record, self.path)

    def save(self, tokens: StoredTokens) -> None:
        document = self._read_document()
        document["clients"][tokens.client_id] = tokens.to_record()
        self._write_document(document)

    def lock(self, client_id: str) -> contextlib.AbstractContextManager[None]:
        return _flock(self._lock_path, self._lock_timeout)

    def load_recent_calls(self, client_id: str) -> tuple[float, ...]:
        try:
            saved = self._read_document().get("recent_calls", {})
        except TokenStoreError as exc:
            logger.warning("recent calls unreadable, pacing without them: %s", exc)
            return ()
        return _call_times(saved.get(client_id) if isinstance(saved, dict) else None)

    def save_recent_calls(self, client_id: str, sent: Sequence[float]) -> None:
        """Rewrite the file under the store's lock (never call it holding that).

        The record is advice, so the lock is waited for briefly: a refresh in
        another process may hold it for a network round trip.
        """
        patience = min(self._lock_timeout, _ADVICE_LOCK_TIMEOUT)
        with _flock(self._lock_path, patience):
            document = self._read_document()
            saved = document.get("recent_calls")
            if not isinstance(saved, dict):
                saved = document["recent_calls"] = {}
            saved[client_id] = list(sent)
            self._write_document(document)

    def _write_document(self, document: dict[str, Any]) -> None:
        document["version"] = _FORMAT_VERSION
        _write_atomically(self.path, json.dumps(document, indent=2, sort_keys=True))

    def _read_document(self) -> dict[str, Any]:
        """The whole file as a dict whose ``"clients"`` is a dict."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {"clients": {}}
        except (OSError, UnicodeDecodeError) as exc:
            raise _store_error(self.path, "cannot be read", exc) from None
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _store_error(
                self.path, f"is not valid JSON (line {exc.lineno})"
            ) from None
        clients = document.get("clients") if isinstance(document, dict) else None
        if not isinstance(clients, dict):
            raise _store_error(self.path, "is not a token store file")
        return dict(document)


class SqliteTokenStore:
    """Pairs as rows of table ``connector_tokens`` in an SQLite database file.

    Recent call times live in table ``connector_recent_calls``.

    The file may hold other tables (the sync data); this store touches only its
    own table, creates the file with mode 0600 if it is new, and opens one short
    connection per call so that it can be used from any thread.
    """

    TABLES = ("connector_tokens", "connector_recent_calls")
    """The tables this store creates (the file may hold others)."""

    _SCHEMA = """
        CREATE TABLE IF NOT EXISTS connector_tokens (
            client_id   TEXT PRIMARY KEY,
            record      TEXT NOT NULL,
            generation  INTEGER NOT NULL,
            updated_at  TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS connector_recent_calls (
            client_id   TEXT PRIMARY KEY,
            sent        TEXT NOT NULL
        );
    """

    def __init__(
        self, path: str | Path, *, lock_timeout: float = _DEFAULT_LOCK_TIMEOUT
    ) -> None:
        self.path = Path(path)
        self._lock_path = self.path.with_name(self.path.name + ".tokens.lock")
        self._lock_timeout = lock_timeout
        self._ready = False

    def __repr__(self) -> str:
        return f"SqliteTokenStore({str(self.path)!r})"

    def load(self, client_id: str) -> StoredTokens | None:
        with self._connect() as db:
            row = db.execute(
                "SELECT record FROM connector_tokens WHERE client_id = ?", (client_id,)
            ).fetchone()
        if row is None:
            return None
        try:
            record = json.loads(row[0])
        except json.JSONDecodeError:
            raise _store_error(
                self.path, f"holds a damaged row for {client_id!r}"
            ) from None
        return _parse_record(record, self.path)

    def save(self, tokens: StoredTokens) -> None:
        record = json.dumps(tokens.to_record(), sort_keys=True)
        now = datetime.now(UTC).isoformat()
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            db.execute(
                "INSERT INTO connector_tokens "
                "(client_id, record, generation, updated_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (client_id) DO UPDATE SET "
                "record = excluded.record, generation = excluded.generation, "
                "updated_at = excluded.updated_at",
                (tokens.client_id, record, tokens.generation, now),
            )
            db.execute("COMMIT")

    def lock(self, client_id: str) -> contextlib.AbstractContextManager[None]:
        return _flock(self._lock_path, self._lock_timeout)

    def load_recent_calls(self, client_id: str) -> tuple[float, ...]:
        try:
            with self._connect() as db:
                row = db.execute(
                    "SELECT sent FROM connector_recent_calls WHERE client_id = ?",
                    (client_id,),
                ).fetchone()
        except TokenStoreError as exc:
            logger.warning("recent calls unreadable, pacing without them: %s", exc)
            return ()
        if row is None:
            return ()
        try:
            return _call_times(json.loads(row[0]))
        except json.JSONDecodeError:
            return ()

    def save_recent_calls(self, client_id: str, sent: Sequence[float]) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT INTO connector_recent_calls (client_id, sent) VALUES (?, ?) "
                "ON CONFLICT (client_id) DO UPDATE SET sent = excluded.sent",
                (client_id, json.dumps(list(sent))),
            )

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            if not self._ready:
                _ensure_private(self.path)
            db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise _store_error(self.path, "cannot be opened", exc) from None
        try:
            db.execute("PRAGMA synchronous = FULL")
            if not self._ready:
                db.executescript(self._SCHEMA)
                self._ready = True
            yield db
        except sqlite3.Error as exc:
            if db.in_transaction:
                db.rollback()
            raise _store_error(self.path, "failed", exc) from None
        finally:
            db.close()


def _parse_record(record: object, path: Path) -> StoredTokens:
    try:
        return StoredTokens.model_validate(record)
    except ValueError:
        # The validation error would quote the record, secrets included.
        raise _store_error(path, "holds a damaged token record") from None


def _call_times(saved: object) -> tuple[float, ...]:
    """The finite numbers of a saved list of call times; anything else is dropped."""
    if not isinstance(saved, list):
        return ()
    return tuple(
        float(moment)
        for moment in saved
        if isinstance(moment, int | float)
        and not isinstance(moment, bool)
        and math.isfinite(moment)
    )


def _store_error(
    path: Path, problem: str, exc: BaseException | None = None
) -> TokenStoreError:
    reason = ""
    if isinstance(exc, OSError) and exc.strerror:
        reason = f" ({exc.strerror})"
    elif isinstance(exc, sqlite3.Error):
        reason = f" ({exc})"
    return TokenStoreError(
        f"token store {str(path)!r} {problem}{reason}; check the file and its "
        "permissions, or move it away and paste a fresh token pair"
    )


def _ensure_private(path: Path) -> None:
    """Create ``path`` empty with mode 0600, or take group/other access off it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _FILE_MODE)
    except FileExistsError:
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            os.chmod(path, mode & ~0o077)
        return
    os.close(fd)


def _write_atomically(path: Path, text: str) -> None:
    """Temporary file, fsync, rename, fsync of the directory; mode 0600."""
    directory = path.parent
    try:
        fd, temporary = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=".tmp", dir=directory
        )
    except OSError as exc:
        raise _store_error(path, "cannot be written", exc) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), _FILE_MODE)
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
        _fsync_directory(directory)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise _store_error(path, "cannot be written", exc) from None


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as exc:  # some file systems cannot fsync a directory
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP):
            raise
    finally:
        os.close(fd)


@contextlib.contextmanager
def _flock(lock_path: Path, timeout: float) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``lock_path``; blocking, with a deadline."""
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, _FILE_MODE)
    except OSError as exc:
        raise _store_error(lock_path, "cannot be opened as a lock file", exc) from None
    try:
        _wait_for_flock(fd, lock_path, timeout)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _wait_for_flock(fd: int, lock_path: Path, timeout: float) -> None:
    # Polling with LOCK_NB keeps a deadline; a plain blocking flock could wait
    # forever behind a stuck process.
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise TokenStoreError(
                    f"token store lock {str(lock_path)!r} is still held by another "
                    f"process after {timeout:.0f} s; check for a stuck connector "
                    "process sharing this store"
                ) from None
            time.sleep(_LOCK_POLL_SECONDS)
