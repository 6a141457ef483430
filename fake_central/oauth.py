"""Apps, token minting and refresh-token rotation, as the Classic gateway does them.

An app has a client id and secret, an app type and a customer, and lives in one
cluster. "Generate New Token" (``mint``) issues an access/refresh pair and refuses
a second mint for the same client id inside the mint window. ``refresh`` follows
Kong's oauth2 plugin: every success deletes the old pair at once and issues a new
one, so the previous access token and refresh token both stop working.

Tokens are 32-character opaque strings from ``secrets``; lookups are one dict
access. Retired tokens are remembered (boundedly) only so the journal can say
*why* a token failed ("rotated" rather than "unknown").
"""

from __future__ import annotations

import logging
import math
import secrets
import string
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from fake_central.clock import FakeClock
from fake_central.clusters import CLUSTERS
from fake_central.config import FakeConfig
from fake_central.errors import MintRefused, UnknownClient

__all__ = [
    "AccessGrant",
    "AppInfo",
    "RefreshOutcome",
    "TokenBook",
    "TokenPair",
    "TokenState",
    "new_token",
]

logger = logging.getLogger("fake_central.oauth")

TokenState = Literal["ok", "missing", "expired", "rotated", "unknown", "wrong_cluster"]

_ALPHABET = string.ascii_letters + string.digits
_RETIRED_MEMORY = 100_000


def new_token() -> str:
    """A 32-character random opaque string, like the gateway's tokens."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(32))


def gateway_url(cluster: str) -> str:
    """``https://<cluster host>``, the value users paste into an integration."""
    return f"https://{CLUSTERS[cluster]}"


class AppInfo(BaseModel):
    """An API client as the Central UI shows it (secret hidden from ``repr``)."""

    model_config = ConfigDict(frozen=True)

    client_id: str
    client_secret: str = Field(repr=False)
    customer_id: str
    cluster: str
    gateway_url: str
    app_type: str


class TokenPair(BaseModel):
    """An access/refresh pair as ``/oauth2/token`` returns it (values hidden)."""

    model_config = ConfigDict(frozen=True)

    access_token: str = Field(repr=False)
    refresh_token: str = Field(repr=False)
    expires_in: int
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type


@dataclass(slots=True)
class _App:
    info: AppInfo
    last_mint: float | None = None
    refreshes: int = 0


@dataclass(slots=True)
class AccessGrant:
    """What an access token grants: who, where, what and until when."""

    client_id: str
    customer_id: str
    cluster: str
    app_type: str
    expires_at: float
    refresh_token: str


@dataclass(slots=True)
class _RefreshGrant:
    client_id: str
    expires_at: float
    access_token: str


@dataclass(slots=True, frozen=True)
class RefreshOutcome:
    """The result of one ``grant_type=refresh_token`` request."""

    outcome: str
    client_id: str | None
    pair: TokenPair | None = None
    detail: str | None = None


class TokenBook:
    """Every app and live token of the fake, across all clusters."""

    def __init__(self, clock: FakeClock, config: FakeConfig) -> None:
        self.clock = clock
        self.config = config
        self._lock = threading.RLock()
        self._apps: dict[str, _App] = {}
        self._access: dict[str, AccessGrant] = {}
        self._refresh: dict[str, _RefreshGrant] = {}
        self._retired_access: OrderedDict[str, str] = OrderedDict()
        self._retired_refresh: OrderedDict[str, str] = OrderedDict()

    # -- apps -------------------------------------------------------------------

    def add_app(self, info: AppInfo) -> None:
        with self._lock:
            self._apps[info.client_id] = _App(info)

    def app(self, client_id: str) -> AppInfo:
        """The app with this client id; ``UnknownClient`` if there is none."""
        try:
            return self._apps[client_id].info
        except KeyError:
            raise UnknownClient(client_id) from None

    def apps(self) -> list[AppInfo]:
        return [entry.info for entry in self._apps.values()]

    def refresh_count(self, client_id: str | None = None) -> int:
        """Successful rotations, for one client id or for all."""
        if client_id is None:
            return sum(entry.refreshes for entry in self._apps.values())
        entry = self._apps.get(client_id)
        return entry.refreshes if entry else 0

    def mint_retry_after(self, client_id: str) -> int:
        """Seconds until a mint is allowed again (0 when allowed now)."""
        entry = self._apps.get(client_id)
        if (
            entry is None
            or entry.last_mint is None
            or not self.config.mint_rule_enabled
        ):
            return 0
        left = entry.last_mint + self.config.mint_window - self.clock.timestamp()
        return max(0, math.ceil(left))

    # -- minting ----------------------------------------------------------------

    def mint(self, client_id: str) -> TokenPair:
        """ "Generate New Token": a fresh pair, at most once per mint window."""
        with self._lock:
            entry = self._apps.get(client_id)
            if entry is None:
                raise UnknownClient(client_id)
            retry_after = self.mint_retry_after(client_id)
            if retry_after > 0:
                logger.info(
                    "mint refused for client %s (%d s left)", client_id, retry_after
                )
                raise MintRefused(client_id, retry_after)
            entry.last_mint = self.clock.timestamp()
            pair = self._issue(entry.info)
        logger.info("minted a token pair for client %s", client_id)
        return pair

    def _issue(self, info: AppInfo) -> TokenPair:
        now = self.clock.timestamp()
        access, refresh = new_token(), new_token()
        self._access[access] = AccessGrant(
            client_id=info.client_id,
            customer_id=info.customer_id,
            cluster=info.cluster,
            app_type=info.app_type,
            expires_at=now + self.config.access_token_ttl,
            refresh_token=refresh,
        )
        self._refresh[refresh] = _RefreshGrant(
            client_id=info.client_id,
            expires_at=now + self.config.refresh_token_ttl,
            access_token=access,
        )
        return TokenPair(
            access_token=access,
            refresh_token=refresh,
            expires_in=self.config.access_token_ttl,
        )

    # -- API calls --------------------------------------------------------------

    def check_access(
        self, token: str | None, cluster: str
    ) -> tuple[TokenState, AccessGrant | None, str | None]:
        """Why an access token is (not) good here: state, grant, client id."""
        if not token:
            return "missing", None, None
        grant = self._access.get(token)
        if grant is None:
            retired = self._retired_access.get(token)
            if retired is not None:
                return "rotated", None, retired
            return "unknown", None, None
        if grant.cluster != cluster:
            return "wrong_cluster", None, grant.client_id
        if grant.expires_at <= self.clock.timestamp():
            return "expired", None, grant.client_id
        return "ok", grant, grant.client_id

    # -- refresh ----------------------------------------------------------------

    def refresh(
        self,
        cluster: str,
        client_id: str | None,
        client_secret: str | None,
        refresh_token: str | None,
    ) -> RefreshOutcome:
        """Kong's refresh grant: authenticate the client, rotate the pair."""
        with self._lock:
            entry = self._client_in(cluster, client_id, client_secret)
            if entry is None:
                return RefreshOutcome("invalid_client", client_id, detail="client")
            grant = self._refresh.get(refresh_token or "")
            problem = self._refresh_problem(refresh_token, grant, entry)
            if problem is not None:
                return problem
            assert grant is not None
            assert refresh_token is not None
            self._retire(refresh_token, grant)
            entry.refreshes += 1
            pair = self._issue(entry.info)
        logger.info("rotated the token pair of client %s", entry.info.client_id)
        return RefreshOutcome("rotated", entry.info.client_id, pair)

    def _client_in(
        self, cluster: str, client_id: str | None, client_secret: str | None
    ) -> _App | None:
        entry = self._apps.get(client_id or "")
        if entry is None or entry.info.cluster != cluster:
            return None
        if not secrets.compare_digest(
            entry.info.client_secret.encode(), (client_secret or "").encode()
        ):
            return None
        return entry

    def _refresh_problem(
        self, token: str | None, grant: _RefreshGrant | None, entry: _App
    ) -> RefreshOutcome | None:
        client_id = entry.info.client_id
        if grant is None:
            used = token is not None and token in self._retired_refresh
            detail = "used" if used else ("missing" if not token else "unknown")
            return RefreshOutcome("invalid_refresh_token", client_id, detail=detail)
        if grant.client_id != client_id:
            return RefreshOutcome("invalid_client", client_id, detail="foreign_token")
        if grant.expires_at <= self.clock.timestamp():
            return RefreshOutcome("invalid_refresh_token", client_id, detail="expired")
        return None

    def _retire(self, refresh_token: str, grant: _RefreshGrant) -> None:
        del self._refresh[refresh_token]
        self._access.pop(grant.access_token, None)
        _remember(self._retired_refresh, refresh_token, grant.client_id)
        _remember(self._retired_access, grant.access_token, grant.client_id)

    # -- bookkeeping ------------------------------------------------------------

    def live_pairs(self, client_id: str) -> int:
        """How many refresh tokens of this client are still usable."""
        now = self.clock.timestamp()
        return sum(
            1
            for grant in self._refresh.values()
            if grant.client_id == client_id and grant.expires_at > now
        )


def _remember(memory: OrderedDict[str, str], token: str, client_id: str) -> None:
    memory[token] = client_id
    if len(memory) > _RETIRED_MEMORY:
        memory.popitem(last=False)
