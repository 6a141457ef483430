"""Where recorded connector traffic comes from: the fake, Central, or a cassette.

A :class:`Target` hands the test a connector pointed at one of three places:

* ``fake`` (recording): the fake gateway over TLS on loopback, reached through the
  real cluster hostname with ``connect_to``, its clock frozen and moved only by the
  connector's own (virtual) sleeps, so a recording is repeatable;
* ``live`` (recording with ``--live``): the Central named by the ``CENTRAL_*``
  environment variables, on real time, the rotated pair kept in a token store outside
  the repository;
* ``replay`` (CI): nothing listens; vcrpy answers from the cassette, and the
  credentials are the cassette's placeholders.

Scenario set-up that needs the other side (spending the rate budget, ageing a token)
is a method here that does the right thing per mode and nothing on replay.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

import yaml
from contract_scrubbing import PLACEHOLDER_PREFIX
from pydantic import SecretStr

from connector import CentralClient, Credentials, JsonFileTokenStore, StoredTokens

Mode = Literal["fake", "live", "replay"]

LIVE_VARIABLES = (
    "CENTRAL_GATEWAY_URL",
    "CENTRAL_CLIENT_ID",
    "CENTRAL_CLIENT_SECRET",
    "CENTRAL_ACCESS_TOKEN",
    "CENTRAL_REFRESH_TOKEN",
)
LIVE_STORE_VARIABLE = "CENTRAL_TOKEN_STORE"
CONNECT_TO_VARIABLE = "CENTRAL_CONNECT_TO"
CA_FILE_VARIABLE = "CENTRAL_CA_FILE"
DEFAULT_LIVE_STORE = Path.home() / ".cache" / "central-harness" / "live-tokens.json"

_SETTLE_POLL = 0.001  # seconds between looks at the fake's answered requests
FAKE_START = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
ACCESS_TOKEN_LIFETIME = 7200  # seconds (reference §1.3)
CENTRAL_PER_SECOND_LIMIT = 7  # reference §3
FAKE_PAGE_LIMIT = 10  # small pages, so the fake's tenant takes several
LIVE_PAGE_LIMIT_VARIABLE = "CENTRAL_PAGE_LIMIT"
DEFAULT_LIVE_PAGE_LIMIT = 100


def placeholder(kind: str, number: int = 1) -> str:
    return f"{PLACEHOLDER_PREFIX}{kind}-{number}"


class VirtualClock:
    """The connector's ``now`` and ``sleep`` in virtual time.

    Sleeping moves the clock (and the fake's clock, when there is one) instead of
    waiting, so back-off and pacing take no wall time and the fake's rate windows
    advance exactly as far as the connector waited. Concurrent sleepers overlap as
    in real time: the clock moves to the latest wake-up asked for.

    While recording against the fake, time must not move with a request in flight,
    or the fake would count it in a later second than the one the connector sent it
    in. ``in_flight`` (requests sent minus requests the fake answered) lets a
    sleeper wait for the loopback exchanges to finish first.
    """

    def __init__(self, start: datetime, fake_clock: Any | None = None) -> None:
        self._now = start
        self._fake_clock = fake_clock
        self.in_flight: Callable[[], int] = lambda: 0
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        if self._fake_clock is not None:
            self._fake_clock.advance(seconds)

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        target = self._now + timedelta(seconds=seconds)
        await asyncio.sleep(0)
        # Only while recording: nothing signals an answered request, so poll.
        while self.in_flight() > 0:  # noqa: ASYNC110
            await asyncio.sleep(_SETTLE_POLL)
        if target > self._now:
            self.advance((target - self._now).total_seconds())


def no_jitter(low: float, high: float) -> float:
    """The shortest wait jitter allows: recordings stay repeatable."""
    return low


@dataclass
class Target:
    """One scenario's gateway, credentials and token store."""

    mode: Mode
    credentials: Credentials
    store: JsonFileTokenStore
    clock: VirtualClock | None = None
    connect_to: tuple[str, int] | None = None
    ca_file: Path | None = None
    fake: Any | None = None  # FakeCentral while recording against the fake
    app: Any | None = None  # its AppInfo
    secrets_in_use: list[tuple[str, str]] = field(default_factory=list)
    page_limit: int = FAKE_PAGE_LIMIT

    @property
    def recording(self) -> bool:
        return self.mode != "replay"

    def client(self, **overrides: Any) -> CentralClient:
        """A connector for this target (virtual time unless live)."""
        options: dict[str, Any] = {
            "store": self.store,
            "connect_to": self.connect_to,
            "ca_file": self.ca_file,
            "per_second_limit": CENTRAL_PER_SECOND_LIMIT,
        }
        if self.clock is not None:
            options.update(
                now=self.clock.now,
                sleep=self.clock.sleep,
                jitter=no_jitter,
                rate_per_second=100.0,  # the window guard paces; never a real wait
            )
        options.update(overrides)
        client = CentralClient(self.credentials, **options)
        if self.mode == "fake" and self.clock is not None:
            fake, answered_before = self.fake, len(self.fake.journal)
            self.clock.in_flight = lambda: (
                client.stats.requests - (len(fake.journal) - answered_before)
            )
        return client

    # -- scenario set-up --------------------------------------------------------------

    def age_the_access_token(self) -> None:
        """Make the next call's access token dead, so Central answers 401.

        The fake: move past the token's two hours. Central: store a pair whose access
        token Central never issued (the refresh token stays the real one).
        """
        if self.mode == "fake":
            assert self.clock is not None
            self.clock.advance(ACCESS_TOKEN_LIFETIME + 1)
        elif self.mode == "live":
            current = self._current_pair()
            stale = "stale-access-token-for-the-401-scenario"
            self.store.save(
                current.model_copy(
                    update={
                        "access_token": SecretStr(stale),
                        "generation": current.generation + 1,
                    }
                )
            )

    def switch_to_an_app_without_the_role(self) -> None:
        """Use an API client whose app type cannot read sites or monitoring (fake)."""
        if self.mode != "fake":
            return
        assert self.fake is not None
        assert self.app is not None
        limited = self.fake.create_app(
            cluster=self.app.cluster,
            app_type="account_home",
            customer_id=self.app.customer_id,
        )
        pair = self.fake.mint(limited.client_id)
        self.credentials = Credentials(
            gateway_url=limited.gateway_url,
            client_id=limited.client_id,
            client_secret=limited.client_secret,
            access_token=pair.access_token,
            refresh_token=pair.refresh_token,
        )

    def spend_the_per_second_budget(self) -> None:
        """Use up this second's calls from outside the connector (fake only)."""
        if self.mode != "fake":
            return
        assert self.fake is not None
        assert self.app is not None
        # Another integration on the same client id: the fake's limiter, directly.
        limiter = self.fake.limiter
        key = limiter.key_for(self.app.client_id, self.app.customer_id)
        while limiter.take(key).allowed:
            pass

    def _current_pair(self) -> StoredTokens:
        stored = self.store.load(self.credentials.client_id)
        if stored is not None:
            return stored
        creds = self.credentials
        return StoredTokens(
            client_id=creds.client_id,
            access_token=creds.access_token,
            refresh_token=creds.refresh_token,
            obtained_at=datetime.now(UTC),
            generation=0,
            origin=creds.pasted_fingerprint,
        )


# -- building targets ---------------------------------------------------------------


def replay_target(cassette: Path, store_path: Path) -> Target:
    """Placeholder credentials for the cassette's gateway; nothing listens."""
    credentials = Credentials(
        gateway_url=cassette_gateway(cassette),
        client_id=placeholder("client-id"),
        client_secret=placeholder("client-secret"),
        access_token=placeholder("access-token"),
        refresh_token=placeholder("refresh-token"),
    )
    clock = VirtualClock(FAKE_START)
    store = JsonFileTokenStore(store_path)
    target = Target("replay", credentials, store, clock=clock)
    target.page_limit = recorded_page_limit(cassette) or FAKE_PAGE_LIMIT
    return target


def recorded_page_limit(cassette: Path) -> int | None:
    """The smallest ``limit`` the recording asked for, if it paged at all."""
    document = yaml.safe_load(cassette.read_text(encoding="utf-8"))
    limits = [
        int(value)
        for interaction in document["interactions"]
        for name, value in parse_qsl(urlsplit(interaction["request"]["uri"]).query)
        if name == "limit" and value.isdigit()
    ]
    return min(limits) if limits else None


def cassette_gateway(cassette: Path) -> str:
    """``https://host`` of the first request recorded in ``cassette``."""
    document = yaml.safe_load(cassette.read_text(encoding="utf-8"))
    uri: str = document["interactions"][0]["request"]["uri"]
    scheme, _, rest = uri.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def live_target() -> Target:
    """The real Central from the environment; fails loudly if a variable is missing."""
    missing = [name for name in LIVE_VARIABLES if not os.environ.get(name)]
    if missing:
        raise RuntimeError(
            f"--live needs {', '.join(missing)} in the environment (see the README's "
            "'Recording against the real Central')"
        )
    env = os.environ
    credentials = Credentials(
        gateway_url=env["CENTRAL_GATEWAY_URL"],
        client_id=env["CENTRAL_CLIENT_ID"],
        client_secret=env["CENTRAL_CLIENT_SECRET"],
        access_token=env["CENTRAL_ACCESS_TOKEN"],
        refresh_token=env["CENTRAL_REFRESH_TOKEN"],
    )
    store_path = Path(env.get(LIVE_STORE_VARIABLE) or DEFAULT_LIVE_STORE)
    store_path.parent.mkdir(parents=True, exist_ok=True)
    target = Target("live", credentials, JsonFileTokenStore(store_path))
    target.connect_to, target.ca_file = _rehearsal_route(env)
    target.page_limit = int(
        env.get(LIVE_PAGE_LIMIT_VARIABLE) or DEFAULT_LIVE_PAGE_LIMIT
    )
    target.secrets_in_use = _secrets_of(
        credentials, target.store.load(credentials.client_id)
    )
    return target


def _rehearsal_route(
    env: Mapping[str, str],
) -> tuple[tuple[str, int] | None, Path | None]:
    """``CENTRAL_CONNECT_TO=host:port`` and ``CENTRAL_CA_FILE``: rehearse ``--live``
    against a standalone ``fake-central serve --tls``; both unset for Central."""
    connect_to = None
    if env.get(CONNECT_TO_VARIABLE):
        host, _, port = env[CONNECT_TO_VARIABLE].rpartition(":")
        connect_to = (host, int(port))
    ca_file = Path(env[CA_FILE_VARIABLE]) if env.get(CA_FILE_VARIABLE) else None
    return connect_to, ca_file


def _secrets_of(
    credentials: Credentials, stored: StoredTokens | None
) -> list[tuple[str, str]]:
    """Secrets in the order the connector first sends them (stable numbering)."""
    pairs: list[tuple[str, str]] = [("client-id", credentials.client_id)]
    pairs.append(("client-secret", credentials.client_secret.get_secret_value()))
    for source in (stored, credentials):
        if source is not None:
            pairs.append(("access-token", source.access_token.get_secret_value()))
            pairs.append(("refresh-token", source.refresh_token.get_secret_value()))
    return pairs


def fake_secrets(credentials: Credentials) -> list[tuple[str, str]]:
    return _secrets_of(credentials, None)
