"""Access-token upkeep: refresh on 401 and ahead of expiry, once, never losing a pair.

:class:`TokenManager` owns the current pair of one client id in one client. Its
rules:

* **Start from the store.** On first use it takes the store's lock and loads the
  stored pair. A stored chain that descends from the pasted pair wins (the pasted
  pair has probably been rotated away); a newly pasted pair replaces the chain; a
  stale copy of a pair pasted earlier does not.
* **Single flight.** A refresh runs as one shared task. Requests that fail with
  a pair older than the current one just retry with the current one; concurrent
  401s on the current pair all wait for the same refresh. Cancelling a request
  never abandons a refresh half-way.
* **Cross-process.** The refresh holds the store's exclusive lock (acquired off
  the event loop), re-reads the store, and adopts a newer pair written by another
  process instead of refreshing.
* **Persist before use.** The new pair is written (atomically, durably) before
  it becomes current. If the write fails the pair is kept aside, never used, and
  written again on the next request.
* **Dead ends are final.** A rejected refresh token raises
  ``RefreshTokenRejected`` (a rejected client secret, ``InvalidCredentials``) and
  every later request raises it again without network traffic, until a
  different pair appears in the store. The store remembers the verdict, so a
  later process stops at once too, until a new pair is pasted. A refresh whose
  answer was lost after sending is retried once; if that fails too, the pair is
  treated as rotated away.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from pydantic import SecretStr

from connector.credentials import Credentials
from connector.errors import (
    CentralError,
    InvalidCredentials,
    RefreshTokenRejected,
    TokenStoreError,
)
from connector.pacing import Now
from connector.tokens import StoredTokens, TokenStore

__all__ = [
    "DEFAULT_REFRESH_LEEWAY",
    "RefreshOutcomeUnknown",
    "TokenGrant",
    "TokenManager",
]

logger = logging.getLogger("connector.auth")

DEFAULT_REFRESH_LEEWAY = 300.0
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """A successful refresh answer. ``refresh_token`` is ``None`` if none was sent."""

    access_token: SecretStr
    refresh_token: SecretStr | None
    expires_in: int | None


class RefreshOutcomeUnknown(Exception):
    """The refresh request may have reached Central, but no usable answer came back."""


RefreshExchange = Callable[[SecretStr], Awaitable[TokenGrant]]


class _SingleFlight(Generic[_T]):
    """At most one task at a time; every caller awaits the one running.

    Callers await it through ``asyncio.shield``: a cancelled caller leaves the
    task running to its end, so a refresh is never abandoned half-way.
    """

    def __init__(self) -> None:
        self._task: asyncio.Task[_T] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def run(self, start: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
        """Join the running task, or start one with ``start()``."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(start())
        return await asyncio.shield(self._task)

    async def join(self) -> None:
        """Wait for the running task, if any (its failure is raised here too)."""
        if self._task is not None and not self._task.done():
            await asyncio.shield(self._task)


class TokenManager:
    """The current token pair of one client, kept fresh and persisted."""

    def __init__(
        self,
        credentials: Credentials,
        store: TokenStore,
        exchange: RefreshExchange,
        *,
        now: Now,
        refresh_leeway: float = DEFAULT_REFRESH_LEEWAY,
    ) -> None:
        self._credentials = credentials
        self._client_id = credentials.client_id
        self._store = store
        self._exchange = exchange
        self._now = now
        self._leeway = timedelta(seconds=refresh_leeway)
        self._tokens: StoredTokens | None = None
        self._pending: StoredTokens | None = None
        self._dead: CentralError | None = None
        self._boot: _SingleFlight[StoredTokens] = _SingleFlight()
        self._refresh: _SingleFlight[StoredTokens] = _SingleFlight()
        self.refreshes = 0
        self.adoptions = 0

    def __repr__(self) -> str:
        generation = self._tokens.generation if self._tokens else None
        return f"TokenManager(client_id={self._client_id!r}, generation={generation})"

    @property
    def current(self) -> StoredTokens | None:
        """The pair in use, or ``None`` before the first request."""
        return self._tokens

    async def token(self) -> StoredTokens:
        """The pair to send now; refreshes first when its expiry is near."""
        tokens = await self._ready()
        if self._expiring(tokens):
            tokens = await self._refresh_from(tokens, wanted=self._expiring)
        return tokens

    async def after_unauthorized(self, used: StoredTokens) -> StoredTokens:
        """The pair to replay with after ``used`` met a 401."""
        await self._refresh.join()
        self._raise_if_dead()
        current = await self._ready()
        if not used.same_pair(current):
            return current
        return await self._refresh_from(current, wanted=self._expiring)

    async def refresh_now(self) -> StoredTokens:
        """Rotate the pair now."""
        current = await self._ready()
        return await self._refresh_from(current, wanted=_always)

    async def keep_alive(self, max_age: timedelta) -> tuple[StoredTokens, bool]:
        """Rotate the pair unless it was rotated within ``max_age``; say if it was.

        A pasted pair counts as due: when it was minted is unknown. A pair that
        another process rotated recently (found in the store) is taken instead.
        """

        def due(tokens: StoredTokens) -> bool:
            return tokens.generation == 0 or self._now() - tokens.obtained_at >= max_age

        current = await self._ready()
        if not due(current):
            return current, False
        before = self.refreshes
        fresh = await self._refresh_from(current, wanted=due)
        return fresh, self.refreshes > before

    # -- start-up ---------------------------------------------------------------

    async def _ready(self) -> StoredTokens:
        if self._dead is not None:
            await self._revive_from_store()
        if self._pending is not None:
            await self._boot.run(self._save_pending)
        if self._tokens is None:
            self._tokens = await self._boot.run(self._bootstrap)
        return self._tokens

    async def _bootstrap(self) -> StoredTokens:
        if self._tokens is not None:
            return self._tokens
        pasted = self._pasted_pair()
        async with self._store_lock():
            stored = await asyncio.to_thread(self._store.load, self._client_id)
            chosen = self._choose(stored, pasted)
            if chosen is not stored:
                await asyncio.to_thread(self._store.save, chosen)
        logger.debug(
            "client id %s starts from generation %d", self._client_id, chosen.generation
        )
        if chosen.rejected is not None:
            # An earlier run learnt that this pair is dead: stop without traffic.
            self._tokens = chosen
            raise self._die(f"{chosen.rejected} (remembered from an earlier run)")
        return chosen

    def _choose(
        self, stored: StoredTokens | None, pasted: StoredTokens
    ) -> StoredTokens:
        # Nothing stored yet: the pasted pair starts the chain.
        if stored is None:
            return pasted
        # The stored chain descends from this paste: it is newer than the paste.
        if stored.origin == pasted.origin:
            return stored
        # This paste was replaced by a newer one earlier: keep the newer chain.
        if pasted.origin in stored.superseded:
            logger.warning(
                "the credentials for client id %s hold a token pair that was replaced "
                "by a newer paste; using the stored chain",
                self._client_id,
            )
            return stored
        # A newly pasted pair replaces the stored chain.
        logger.info(
            "a newly pasted token pair replaces the stored one for %s", self._client_id
        )
        return pasted.model_copy(
            update={
                "generation": stored.generation + 1,
                "superseded": (*stored.superseded, stored.origin),
            }
        )

    def _pasted_pair(self) -> StoredTokens:
        creds = self._credentials
        return StoredTokens(
            client_id=self._client_id,
            access_token=creds.access_token,
            refresh_token=creds.refresh_token,
            expires_at=None,
            obtained_at=self._now(),
            generation=0,
            origin=creds.pasted_fingerprint,
        )

    async def _save_pending(self) -> StoredTokens:
        pending = self._pending
        if pending is None:
            assert self._tokens is not None
            return self._tokens
        async with self._store_lock():
            await asyncio.to_thread(self._store.save, pending)
        self._tokens, self._pending = pending, None
        logger.info("saved the pending token pair for client id %s", self._client_id)
        return pending

    async def _revive_from_store(self) -> None:
        dead, held = self._dead, self._tokens
        assert dead is not None
        stored = await asyncio.to_thread(self._store.load, self._client_id)
        if stored is None or stored.same_pair(held) or stored.rejected is not None:
            raise dead
        logger.info(
            "a new token pair for client id %s appeared in the store", self._client_id
        )
        self._tokens, self._dead = stored, None
        self.adoptions += 1

    # -- refresh ----------------------------------------------------------------

    async def _refresh_from(
        self, seen: StoredTokens, *, wanted: Callable[[StoredTokens], bool]
    ) -> StoredTokens:
        if self._refresh.running:
            await self._refresh.join()
            return await self._ready()
        self._raise_if_dead()
        current = self._tokens
        if current is not None and not current.same_pair(seen):
            return current
        return await self._refresh.run(lambda: self._refresh_cycle(wanted=wanted))

    async def _refresh_cycle(
        self, *, wanted: Callable[[StoredTokens], bool]
    ) -> StoredTokens:
        """Refresh under the store's lock.

        A newer pair found in the store is adopted first, and refreshed only if
        it is still ``wanted``.
        """
        held = self._tokens
        assert held is not None
        async with self._store_lock():
            stored = await asyncio.to_thread(self._store.load, self._client_id)
            if stored is not None and not stored.same_pair(held):
                held = self._adopt(stored)
                if held.rejected is not None:
                    raise self._die(held.rejected)
                if not wanted(held):
                    return held
            grant = await self._remember_rejection(held)
            fresh = self._next_pair(held, grant)
            try:
                await asyncio.to_thread(self._store.save, fresh)
            except TokenStoreError:
                self._pending = fresh
                logger.error(
                    "could not save the rotated token pair for client id %s; it is "
                    "kept in memory, unused, and saved again on the next request",
                    self._client_id,
                )
                raise
        self._tokens = fresh
        self.refreshes += 1
        logger.info(
            "refreshed the token pair for client id %s "
            "(generation %d, expires in %s s)",
            self._client_id,
            fresh.generation,
            grant.expires_in if grant.expires_in is not None else "unknown",
        )
        return fresh

    async def _remember_rejection(self, held: StoredTokens) -> TokenGrant:
        """Exchange ``held``; if Central refuses it, mark it dead in the store."""
        try:
            return await self._exchange_once_more_if_lost(held)
        except RefreshTokenRejected as exc:
            marked = held.model_copy(update={"rejected": exc.reason})
            try:
                await asyncio.to_thread(self._store.save, marked)
            except TokenStoreError:
                logger.error(
                    "could not record in the token store that the pair of client id "
                    "%s was refused; the next run will try it once more",
                    self._client_id,
                )
            self._tokens = marked
            raise

    def _adopt(self, stored: StoredTokens) -> StoredTokens:
        logger.info(
            "adopting the newer token pair another process saved for client id %s "
            "(generation %d)",
            self._client_id,
            stored.generation,
        )
        self._tokens = stored
        self.adoptions += 1
        return stored

    async def _exchange_once_more_if_lost(self, held: StoredTokens) -> TokenGrant:
        try:
            return await self._exchange_or_die(held, retrying=False)
        except RefreshOutcomeUnknown:
            logger.warning(
                "the answer to a token refresh for client id %s was lost; "
                "retrying once",
                self._client_id,
            )
        try:
            return await self._exchange_or_die(held, retrying=True)
        except RefreshOutcomeUnknown:
            raise self._die(
                "the answer to a token refresh was lost twice, so the refresh token "
                "may have been rotated away"
            ) from None

    async def _exchange_or_die(
        self, held: StoredTokens, *, retrying: bool
    ) -> TokenGrant:
        try:
            return await self._exchange(held.refresh_token)
        except RefreshTokenRejected as exc:
            reason = exc.reason
            if retrying:
                reason = (
                    "the answer to a token refresh was lost and the retry was refused, "
                    "so the refresh token was rotated without the new pair arriving"
                )
            raise self._die(reason, exc) from exc
        except InvalidCredentials as exc:
            # The client id or secret is wrong: retrying cannot help either.
            self._dead = exc
            raise

    def _die(
        self, reason: str, cause: RefreshTokenRejected | None = None
    ) -> RefreshTokenRejected:
        error = RefreshTokenRejected(
            reason,
            client_id=self._client_id,
            method=cause.method if cause else None,
            url=cause.url if cause else None,
        )
        self._dead = error
        logger.warning("%s", error)
        return error

    def _next_pair(self, held: StoredTokens, grant: TokenGrant) -> StoredTokens:
        now = self._now()
        expires_at = None
        if grant.expires_in is not None:
            expires_at = now + timedelta(seconds=grant.expires_in)
        return held.model_copy(
            update={
                "access_token": grant.access_token,
                "refresh_token": grant.refresh_token or held.refresh_token,
                "expires_at": expires_at,
                "obtained_at": now,
                "generation": held.generation + 1,
            }
        )

    # -- helpers ----------------------------------------------------------------

    def _expiring(self, tokens: StoredTokens) -> bool:
        expires_at: datetime | None = tokens.expires_at
        return expires_at is not None and self._now() >= expires_at - self._leeway

    def _raise_if_dead(self) -> None:
        if self._dead is not None:
            raise self._dead

    @contextlib.asynccontextmanager
    async def _store_lock(self) -> AsyncIterator[None]:
        """The store's cross-process lock, waited for in a worker thread."""
        lock = self._store.lock(self._client_id)
        entering = asyncio.ensure_future(asyncio.to_thread(lock.__enter__))
        try:
            await asyncio.shield(entering)
        except asyncio.CancelledError:
            entering.add_done_callback(lambda _: _release_if_taken(lock, entering))
            raise
        try:
            yield
        finally:
            lock.__exit__(None, None, None)


def _always(tokens: StoredTokens) -> bool:
    return True


def _release_if_taken(
    lock: contextlib.AbstractContextManager[None], entering: asyncio.Future[None]
) -> None:
    if not entering.cancelled() and entering.exception() is None:
        lock.__exit__(None, None, None)
