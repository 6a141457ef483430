"""The read-only transport to one Central API gateway, and the typed calls on it.

``CentralClient`` is an async context manager around one ``aiohttp`` session:

* **Read-only by construction.** The transport sends GET, plus one POST: the
  token refresh. Anything else raises ``ReadOnlyViolation`` before any I/O.
* **Only the gateway.** The session's resolver resolves the gateway host and
  nothing else; redirects are not followed; ``Authorization`` goes nowhere else.
  ``connect_to=(host, port)`` dials another address for the gateway host (like
  curl's ``--connect-to``) while TLS still verifies the gateway's hostname, and
  ``ca_file`` replaces the system trust store (tests trust the fake's CA this way).
* **Bounded everything.** Every request has a timeout. Idempotent GETs are
  retried ``max_retries`` times on 5xx (JSON or plain text), broken connections
  and timeouts, with jittered exponential back-off; 429s are paced and retried as
  ``connector.pacing`` describes; a 401 causes at most one refresh and one replay.
* **One translation.** ``aiohttp`` errors become connector errors in
  ``connector._transport.translate`` only, chained with ``from``, with the
  method and a secret-free URL attached.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiohttp
from pydantic import SecretStr
from yarl import URL

from connector._answers import check_success, json_object, token_grant
from connector._sensitive import redact_url
from connector._transport import (
    TOKEN_PATH,
    USER_AGENT,
    GatewayResolver,
    Proxy,
    Reply,
    SendFailed,
    check_path,
    guard_read_only,
    query_value,
    ssl_context,
    translate,
)
from connector.auth import (
    DEFAULT_REFRESH_LEEWAY,
    RefreshOutcomeUnknown,
    TokenGrant,
    TokenManager,
)
from connector.credentials import Credentials
from connector.errors import (
    CentralError,
    InvalidCredentials,
    RateLimited,
    ReadOnlyViolation,
    TokenStoreError,
)
from connector.models import (
    INVENTORY_RECORDS,
    MONITORING_ENDPOINTS,
    InventoryPage,
    InventoryRecordsPage,
    MonitoringPage,
    SitesPage,
    parse_monitoring_json,
    parse_page_json,
    parse_records_json,
)
from connector.pacing import (
    DEFAULT_RATE_PER_SECOND,
    Jitter,
    Now,
    Pacer,
    Sleep,
    backoff_delay,
    shared_pacer,
)
from connector.tokens import (
    MemoryTokenStore,
    RecentCallsStore,
    StoredTokens,
    TokenStore,
)

__all__ = ["DEFAULT_KEEP_ALIVE_AGE", "CentralClient", "ClientStats", "KeepAlive"]

logger = logging.getLogger("connector.client")

SITES_PATH = "/central/v2/sites"
INVENTORY_PATH = "/platform/device_inventory/v1/devices"
_MAX_RATE_LIMIT_WAIT = 60.0
# Central drops a refresh token left unused for 14 to 15 days (the exact value is
# not documented); 12 days leaves a daily keep-alive two more chances.
DEFAULT_KEEP_ALIVE_AGE = timedelta(days=12)
_REFRESH_TOKEN_LIFETIME = timedelta(days=14)
# Kept-alive connections to the gateway. Requests beyond it wait for a free one
# (inside their timeout) rather than pay a TLS handshake each: 16 sustains 7/s
# up to about 2 s of latency, and a sync's hundreds of queued pages reuse them.
_POOL_SIZE = 16


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ClientStats:
    """Counters of one client since it opened."""

    requests: int = 0  # HTTP exchanges attempted, refresh POSTs included
    refreshes: int = 0  # token rotations this client performed
    retries: int = 0  # repeated attempts after 5xx, broken connections or 429
    rate_limited: int = 0  # 429 answers met
    unauthorized: int = 0  # 401 answers met
    adoptions: int = 0  # newer pairs taken from the store instead of refreshing


@dataclass(frozen=True, slots=True)
class KeepAlive:
    """What :meth:`CentralClient.keep_alive` did."""

    rotated: bool  # the pair was rotated just now (by this call)
    last_rotation: datetime  # when the pair in use was obtained
    next_due: datetime  # when the next rotation falls due


@dataclass(slots=True)
class _Counters:
    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    unauthorized: int = 0


class CentralClient:
    """An async, read-only client of one Central account's API gateway.

    Args:
        credentials: the five pasted values.
        store: where rotated pairs live (``SqliteTokenStore``, ``JsonFileTokenStore``);
            ``None`` keeps them in memory only, and they are lost at exit.
        connect_to: ``(host, port)`` to dial instead of the gateway's own address;
            TLS still verifies the gateway hostname.
        proxy: an ``http://`` or ``https://`` proxy URL (``user:password@`` for
            basic authentication) that tunnels to the gateway with CONNECT; TLS
            to the gateway is end to end, and the password is never shown.
        ca_file: PEM file of the CAs to trust instead of the system's.
        timeout: seconds for one HTTP exchange, connection included.
        rate_per_second: sustained request rate for this client id (shared by
            every client with the same client id in this event loop). At most
            ceil(rate) calls go out in any one-second window.
        per_second_limit: a lower cap on calls per one-second window, for when
            the rate is set above Central's limit (the server's
            ``X-RateLimit-Limit-second`` caps it as soon as it is seen).
        max_retries: retries of one GET after 5xx, broken connections, timeouts
            or 429s (each counted separately).
        refresh_leeway: refresh this many seconds before a known expiry.
        max_rate_limit_wait: a ``Retry-After`` longer than this raises
            ``RateLimited`` instead of waiting.
        now, sleep, jitter: the clock, the sleep and the random source, for tests.
    """

    def __init__(
        self,
        credentials: Credentials,
        *,
        store: TokenStore | None = None,
        connect_to: tuple[str, int] | None = None,
        proxy: str | None = None,
        ca_file: str | Path | None = None,
        timeout: float = 10.0,
        rate_per_second: float = DEFAULT_RATE_PER_SECOND,
        per_second_limit: int | None = None,
        max_retries: int = 3,
        refresh_leeway: float = DEFAULT_REFRESH_LEEWAY,
        max_rate_limit_wait: float = _MAX_RATE_LIMIT_WAIT,
        now: Now | None = None,
        sleep: Sleep | None = None,
        jitter: Jitter | None = None,
    ) -> None:
        _check_settings(connect_to, timeout, rate_per_second, max_retries)
        self.credentials = credentials
        self.gateway_url = credentials.gateway_url
        self._base = URL(credentials.gateway_url)
        self._host = credentials.host
        self._connect_to = connect_to
        self._proxy = Proxy.parse(proxy) if proxy is not None else None
        if self._proxy is not None and connect_to is not None:
            raise ValueError(
                "connect_to and proxy cannot be combined: through a proxy, the "
                "proxy dials the gateway"
            )
        self._ssl = ssl_context(ca_file)
        self._timeout = timeout
        self._rate = rate_per_second
        self._per_second_limit = per_second_limit
        self._max_retries = max_retries
        self._max_rate_limit_wait = max_rate_limit_wait
        self._now = now or _utc_now
        self._sleep = sleep or asyncio.sleep
        self._jitter = jitter or random.uniform
        self._secrets = credentials.secret_values()
        self._proxy_headers = None
        if self._proxy is not None:
            self._secrets += self._proxy.secrets()
            self._proxy_headers = self._proxy.headers or None
        if store is None:
            logger.warning(
                "no token store for client id %s: a rotated refresh token lives "
                "only in memory and is lost when the process exits",
                credentials.client_id,
            )
            store = MemoryTokenStore()
        self.store = store
        self._auth = TokenManager(
            credentials,
            store,
            self._refresh_exchange,
            now=self._now,
            refresh_leeway=refresh_leeway,
        )
        self._counters = _Counters()
        self._session: aiohttp.ClientSession | None = None
        self._pacer: Pacer | None = None
        self._closed = False

    def __repr__(self) -> str:
        proxy = f", proxy={self._proxy.shown!r}" if self._proxy is not None else ""
        return (
            f"CentralClient(gateway_url={self.gateway_url!r}, "
            f"client_id={self.credentials.client_id!r}, store={self.store!r}{proxy})"
        )

    # -- lifecycle --------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def open(self) -> None:
        """Create the session and join the client id's pacer (idempotent).

        When the store keeps recent calls (``RecentCallsStore``), the pacer
        counts the ones an earlier process saved, so back-to-back runs stay
        inside the per-second window together.
        """
        if self._closed:
            raise RuntimeError("this CentralClient is closed; create a new one")
        if self._session is not None:
            return
        self._pacer = pacer = shared_pacer(
            self.credentials.client_id,
            rate_per_second=self._rate,
            per_second_limit=self._per_second_limit,
            now=self._now,
            sleep=self._sleep,
            jitter=self._jitter,
        )
        if isinstance(self.store, RecentCallsStore):
            saved = await asyncio.to_thread(
                self.store.load_recent_calls, self.credentials.client_id
            )
            pacer.remember(saved)
        connector = aiohttp.TCPConnector(
            ssl=self._ssl,
            resolver=GatewayResolver(
                self._host,
                self._connect_to,
                self._proxy.host if self._proxy is not None else None,
            ),
            limit=_POOL_SIZE,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            # A separate connect timeout tells "never sent" apart from "no answer".
            timeout=aiohttp.ClientTimeout(
                total=self._timeout, sock_connect=self._timeout / 2
            ),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
            proxy=self._proxy.url if self._proxy is not None else None,
        )

    async def close(self) -> None:
        """Close the session and save the pacer's recent calls (idempotent)."""
        self._closed = True
        session, self._session = self._session, None
        if session is None:
            return
        await session.close()
        await self._save_recent_calls()

    async def _save_recent_calls(self) -> None:
        pacer = self._pacer
        if pacer is None or not isinstance(self.store, RecentCallsStore):
            return
        recent = pacer.recent_calls()
        if not recent:
            return
        try:
            await asyncio.to_thread(
                self.store.save_recent_calls, self.credentials.client_id, recent
            )
        except TokenStoreError as exc:
            # Only pacing advice is lost: the next process may meet one 429.
            logger.warning("could not save the recent calls: %s", exc)

    @property
    def stats(self) -> ClientStats:
        """A snapshot of this client's counters."""
        counters = self._counters
        return ClientStats(
            requests=counters.requests,
            refreshes=self._auth.refreshes,
            retries=counters.retries,
            rate_limited=counters.rate_limited,
            unauthorized=counters.unauthorized,
            adoptions=self._auth.adoptions,
        )

    @property
    def pacer(self) -> Pacer | None:
        """The shared pacer of this client id, once the client is open."""
        return self._pacer

    def ensure_daily_budget(self, calls: int) -> None:
        """Raise unless Central's last word on today's budget covers ``calls`` more.

        ``DailyBudgetTooSmall`` (or ``DailyBudgetExhausted``) comes before any of
        those calls is made; with no report yet from today, nothing is raised.
        """
        if self._pacer is not None:
            self._pacer.ensure_daily_budget(calls)

    # -- typed calls ------------------------------------------------------------

    async def list_sites(self, offset: int = 0, limit: int = 1000) -> SitesPage:
        """One page of ``GET /central/v2/sites`` (``limit`` at most 1000)."""
        params = _page_params(offset, limit, calculate_total="true")
        reply, shown = await self._get_ok(SITES_PATH, params)
        return parse_page_json(
            SitesPage, reply.body, endpoint=SITES_PATH, **_exchange(reply, shown)
        )

    async def list_inventory(
        self, offset: int = 0, limit: int = 1000, sku_type: str = "all"
    ) -> InventoryPage:
        """One page of ``GET /platform/device_inventory/v1/devices``."""
        reply, shown = await self._get_inventory(offset, limit, sku_type)
        return parse_page_json(
            InventoryPage,
            reply.body,
            endpoint=INVENTORY_PATH,
            **_exchange(reply, shown),
        )

    async def list_inventory_records(
        self, offset: int = 0, limit: int = 1000, sku_type: str = "all"
    ) -> InventoryRecordsPage:
        """The same page as :meth:`list_inventory`, as plain dicts of the fields a
        sync stores (``InventoryRecord``); what the sync reads.
        """
        reply, shown = await self._get_inventory(offset, limit, sku_type)
        return parse_records_json(
            INVENTORY_RECORDS,
            reply.body,
            endpoint=INVENTORY_PATH,
            **_exchange(reply, shown),
        )

    async def _get_inventory(
        self, offset: int, limit: int, sku_type: str
    ) -> tuple[Reply, str]:
        params = _page_params(offset, limit, sku_type=sku_type)
        return await self._get_ok(INVENTORY_PATH, params)

    async def list_monitoring(
        self, kind: str, offset: int = 0, limit: int = 1000
    ) -> MonitoringPage:
        """One page of monitored ``aps``, ``switches`` or ``gateways``."""
        if kind not in MONITORING_ENDPOINTS:
            raise ValueError(
                f"kind must be one of {sorted(MONITORING_ENDPOINTS)}, not {kind!r}"
            )
        path = MONITORING_ENDPOINTS[kind][0]
        params = _page_params(offset, limit, calculate_total="true")
        reply, shown = await self._get_ok(path, params)
        return parse_monitoring_json(
            kind, reply.body, endpoint=path, **_exchange(reply, shown)
        )

    async def get_json(
        self, path: str, params: Mapping[str, str | int | float | bool] | None = None
    ) -> dict[str, Any]:
        """``GET path`` on the gateway; the JSON object it answers."""
        return await self.request("GET", path, params)

    async def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, str | int | float | bool] | None = None,
    ) -> dict[str, Any]:
        """Send one request through the read-only transport; only GET is allowed."""
        if method.upper() != "GET":
            raise ReadOnlyViolation(method.upper(), path)
        reply, shown = await self._get_ok(path, params)
        return json_object(reply, path, shown)

    async def _get_ok(
        self, path: str, params: Mapping[str, str | int | float | bool] | None
    ) -> tuple[Reply, str]:
        """``GET path``: its 2xx reply and the URL as logged, or the answer's error.

        Pages parse the reply's bytes themselves (``parse_page_json``): no dict
        of the whole body is ever built.
        """
        url = self._url(path, params)
        shown = redact_url(url)
        reply = await self._get_authorised(url, shown)
        check_success(reply, path, shown, self._secrets, self._max_retries + 1)
        return reply, shown

    async def refresh_tokens(self) -> None:
        """Rotate the token pair now and save it."""
        await self._ensure_open()
        await self._auth.refresh_now()

    async def keep_alive(
        self, max_age: timedelta = DEFAULT_KEEP_ALIVE_AGE
    ) -> KeepAlive:
        """Rotate the pair if its last rotation is ``max_age`` or more ago.

        Central drops a refresh token left unused for about two weeks, and a
        tenant nobody syncs never uses its own. Called daily (say, from cron),
        this rotates each pair once every ``max_age`` and otherwise sends
        nothing. A pasted pair is rotated at once: when it was minted is unknown.
        """
        if not timedelta(0) < max_age < _REFRESH_TOKEN_LIFETIME:
            raise ValueError(
                f"max_age must be more than 0 and less than 14 days (Central drops a "
                f"refresh token unused for that long), not {max_age}"
            )
        await self._ensure_open()
        tokens, rotated = await self._auth.keep_alive(max_age)
        return KeepAlive(rotated, tokens.obtained_at, tokens.obtained_at + max_age)

    # -- GET with auth, retries and pacing ----------------------------------------

    async def _get_authorised(self, url: URL, shown: str) -> Reply:
        await self._ensure_open()
        reply, used = await self._get_with_retries(url, shown)
        if reply.status != 401:
            return reply

        self._counters.unauthorized += 1
        await self._auth.after_unauthorized(used)
        reply, _ = await self._get_with_retries(url, shown)
        if reply.status == 401:
            self._counters.unauthorized += 1
            raise InvalidCredentials(
                "Central refused the access token even right after a refresh; check "
                "that the gateway URL is the cluster this API client was created on "
                "(copy it from the API Gateway page header) and that the client still "
                "exists",
                method="GET",
                url=shown,
            )
        return reply

    async def _get_with_retries(
        self, url: URL, shown: str
    ) -> tuple[Reply, StoredTokens]:
        """GET with bounded retries; returns the reply and the pair it carried.

        Every attempt takes the current pair afresh: a retry that waited out a
        5xx or a 429 while another request refreshed must not replay the pair
        that refresh rotated away.
        """
        failures = limited = 0
        while True:
            tokens = await self._auth.token()
            bearer = tokens.access_token.get_secret_value()
            headers = {"Authorization": f"Bearer {bearer}"}
            try:
                reply = await self._send("GET", url, shown, headers=headers)
            except SendFailed as failure:
                if not failure.retryable or failures >= self._max_retries:
                    raise failure.error from failure.cause
                failures += 1
                await self._back_off_after_failure(failures, shown, str(failure.error))
                continue

            if reply.status == 429:
                self._rate_limited_once(reply, limited, "GET", shown)
                limited += 1
                continue
            if reply.status >= 500 and failures < self._max_retries:
                failures += 1
                await self._back_off_after_failure(
                    failures, shown, f"status {reply.status}"
                )
                continue
            return reply, tokens

    async def _back_off_after_failure(
        self, failures: int, shown: str, what: str
    ) -> None:
        self._counters.retries += 1
        delay = backoff_delay(failures - 1, jitter=self._jitter)
        logger.info(
            "retry %d of %d for %s in %.2f s after %s",
            failures,
            self._max_retries,
            shown,
            delay,
            what,
        )
        await self._sleep(delay)

    def _rate_limited_once(
        self, reply: Reply, limited: int, method: str, shown: str
    ) -> None:
        """Account for a 429; raise when retrying is no longer sensible."""
        self._counters.rate_limited += 1
        pacer = self._require_pacer()
        try:
            delay = pacer.back_off(reply.headers, limited)
        except CentralError as exc:
            exc.method, exc.url = method, shown
            raise
        if limited >= self._max_retries or delay > self._max_rate_limit_wait:
            raise RateLimited(
                f"Central kept answering 429 (rate limited) for client id "
                f"{self.credentials.client_id!r} after {limited + 1} tries; another "
                "integration may share this client id or account. Try again in a "
                "minute, or lower rate_per_second",
                retry_after=delay,
                method=method,
                url=shown,
            )
        self._counters.retries += 1

    # -- token refresh ------------------------------------------------------------

    async def _refresh_exchange(self, refresh_token: SecretStr) -> TokenGrant:
        """POST the refresh grant (parameters in the JSON body, never the URL)."""
        await self._ensure_open()
        url = self._base.with_path(TOKEN_PATH)
        shown = redact_url(url)
        body = {
            "client_id": self.credentials.client_id,
            "client_secret": self.credentials.client_secret.get_secret_value(),
            "grant_type": "refresh_token",
            "refresh_token": refresh_token.get_secret_value(),
        }
        failures = limited = 0
        while True:
            try:
                reply = await self._send("POST", url, shown, json_body=body)
            except SendFailed as failure:
                if failure.maybe_sent:
                    raise RefreshOutcomeUnknown(str(failure.error)) from failure.cause
                if not failure.retryable or failures >= self._max_retries:
                    raise failure.error from failure.cause
                failures += 1
                await self._back_off_after_failure(failures, shown, str(failure.error))
                continue
            if reply.status == 429:
                self._rate_limited_once(reply, limited, "POST", shown)
                limited += 1
                continue
            return token_grant(reply, shown, self._secrets)

    # -- the transport ------------------------------------------------------------

    async def _send(
        self,
        method: str,
        url: URL,
        shown: str,
        *,
        headers: Mapping[str, str] | None = None,
        json_body: Mapping[str, str] | None = None,
    ) -> Reply:
        """The only place that talks HTTP. GET, or the refresh POST; nothing else."""
        guard_read_only(method, url, json_body)
        session, pacer = self._require_session(), self._require_pacer()
        try:
            sent_at = await pacer.acquire(max_wait=self._max_rate_limit_wait)
        except CentralError as exc:
            exc.method, exc.url = method, shown
            raise

        self._counters.requests += 1
        started = time.perf_counter()
        try:
            async with session.request(
                method,
                url,
                headers=headers,
                json=json_body,
                allow_redirects=False,
                proxy_headers=self._proxy_headers,
            ) as response:
                body = await response.read()
                reply = Reply(response.status, response.headers, body)
        except (aiohttp.ClientError, TimeoutError) as exc:
            pacer.abandon(sent_at)
            failure = translate(exc, method, shown, self._timeout, self._proxy)
            logger.info("%s %s failed: %s", method, shown, failure.error.message)
            raise failure from exc
        except BaseException:
            pacer.abandon(sent_at)  # cancelled: let another call probe
            raise

        pacer.observe(reply.headers, sent_at=sent_at)
        logger.info(
            "%s %s -> %d in %.0f ms",
            method,
            shown,
            reply.status,
            (time.perf_counter() - started) * 1000,
        )
        return reply

    # -- helpers --------------------------------------------------------------------

    def _url(
        self, path: str, params: Mapping[str, str | int | float | bool] | None
    ) -> URL:
        check_path(path)
        query = {key: query_value(value) for key, value in (params or {}).items()}
        return self._base.with_path(path).with_query(query)

    async def _ensure_open(self) -> None:
        if self._session is None:
            await self.open()

    def _require_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError(
                "the client is not open; use 'async with CentralClient(...)'"
            )
        return self._session

    def _require_pacer(self) -> Pacer:
        if self._pacer is None:
            raise RuntimeError(
                "the client is not open; use 'async with CentralClient(...)'"
            )
        return self._pacer


def _exchange(reply: Reply, shown: str) -> dict[str, Any]:
    """What a ``MalformedResponse`` about the whole body names."""
    return {"status": reply.status, "method": "GET", "url": shown}


def _page_params(offset: int, limit: int, **extra: str) -> dict[str, str | int]:
    """The query of one page, after checking ``offset`` and ``limit``."""
    _check_page(offset, limit)
    return {"offset": offset, "limit": limit, **extra}


def _check_page(offset: int, limit: int) -> None:
    if offset < 0:
        raise ValueError(f"offset must be 0 or more, not {offset}")
    if limit < 1:
        raise ValueError(f"limit must be 1 or more, not {limit}")


def _check_settings(
    connect_to: tuple[str, int] | None, timeout: float, rate: float, max_retries: int
) -> None:
    if connect_to is not None:
        host, port = connect_to
        if not host or not isinstance(port, int) or not 0 < port < 65536:
            raise ValueError(
                f"connect_to must be (host, port 1-65535), not {connect_to!r}"
            )
    if timeout <= 0:
        raise ValueError(f"timeout must be positive, not {timeout!r}")
    if rate <= 0:
        raise ValueError(f"rate_per_second must be positive, not {rate!r}")
    if max_retries < 0:
        raise ValueError(f"max_retries must be 0 or more, not {max_retries!r}")
