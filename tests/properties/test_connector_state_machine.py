"""The connector and the fake, driven together by a rule-based state machine.

Rules: single reads, bursts of concurrent and staggered reads, syncs, clock
moves (past the access token's expiry, past the refresh token's TTL), another
integration with the same client id refreshing the pair, 429 bursts, 5xx answers
(JSON and plain text), lost token responses, process restarts from the token
store, a user minting and pasting a fresh pair, and inventory changes.

Invariants, each stated so that a wrong connector fails it:

* **Store = newest pair.** After an operation that succeeded, the token store
  holds the newest pair the fake issued for the client id, and the fake still
  accepts it. When the connector gives up with ``RefreshTokenRejected`` ("mint a
  fresh pair"), the pair it holds really is dead at the fake.
* **No stale replay.** Every request goes on the wire with the newest access
  token the connector has saved. Sending a token the connector itself already
  replaced is a replay it knew to be stale; the fake journals such a request as
  "rotated". The request that meets a rotation made *elsewhere* is unavoidable
  and allowed: the connector could not know (see ``machine_support.SendWatch``).
* **One refresh per expiry.** Two rotations made by the connector are at least a
  token lifetime (less the refresh leeway) apart on the fake's clock, however
  many requests ran at once.
* **Sync = ground truth.** A sync that succeeds counts exactly the fake's sites
  and devices.
* **Paced.** The fake never refuses a request for exceeding its per-second
  budget (only armed 429 faults do).
* **Errors are earned.** A call fails only with ``RefreshTokenRejected`` on a
  dead pair, ``RateLimited`` after armed 429s, or ``UpstreamError`` after armed
  5xx answers or lost token responses.

Time is the fake's frozen clock, shared with the connector (``now``); the
connector's ``sleep`` moves it (``machine_support.VirtualTime``), so nothing
waits for real. Each machine runs on its own event loop (toolchain notes §6).
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)
from machine_support import RecordingStore, SendWatch, VirtualTime

from connector import CentralClient, Credentials
from connector.auth import DEFAULT_REFRESH_LEEWAY
from connector.errors import (
    CentralError,
    RateLimited,
    RefreshTokenRejected,
    UpstreamError,
)
from connector.store import Store
from connector.sync import sync_tenant
from fake_central import FakeCentral, FakeClock, MintRefused, TokenPair
from fake_central.testing import FakeServer, serve_fake

START = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
CLUSTER = "US-2"
READS = ["sites", "inventory", "aps", "switches", "gateways"]


@dataclass
class Issued:
    """A pair the fake issued, as the machine tracks it."""

    pair: TokenPair
    at: float
    by: str  # "mint", "connector" or "elsewhere"
    rotated: bool = False


class ConnectorAndFake(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.workdir = Path(tempfile.mkdtemp(prefix="machine-"))
        self.watch = SendWatch.active = SendWatch()
        self.fake = FakeCentral(clock=FakeClock(start=START, frozen=True))
        self.time = VirtualTime(self.fake.clock, self.watch)
        self.app = self.fake.create_app(cluster=CLUSTER)
        self.fake.load_inventory(self.app.customer_id, sites=30, devices=90, seed=7)
        self.issued: list[Issued] = []
        self._elsewhere = False
        self._track_the_fakes_tokens()
        self.server: FakeServer = serve_fake(self.fake, tls=True)
        self.running = self.loop.run_until_complete(self.server.start())
        self.store = RecordingStore(self.workdir / "connector.db", self.watch)
        self.credentials = self._paste(self.fake.mint(self.app.client_id))
        self.client = self._open_client()

    def teardown(self) -> None:
        self.loop.run_until_complete(self.client.close())
        self.loop.run_until_complete(self.server.close())
        self.loop.run_until_complete(self.loop.shutdown_default_executor())
        self.loop.close()
        shutil.rmtree(self.workdir, ignore_errors=True)
        SendWatch.active = None

    # -- the fake's side -------------------------------------------------------

    def _track_the_fakes_tokens(self) -> None:
        """Record every pair the fake issues, and every rotation it makes."""
        book = self.fake.tokens
        mint, refresh = book.mint, book.refresh

        def minted(client_id: str) -> TokenPair:
            pair = mint(client_id)
            self.issued.append(Issued(pair, self.fake.clock.timestamp(), "mint"))
            return pair

        def refreshed(
            cluster: str,
            client_id: str | None,
            client_secret: str | None,
            refresh_token: str | None,
        ) -> Any:
            outcome = refresh(cluster, client_id, client_secret, refresh_token)
            if outcome.pair is not None:
                for issued in self.issued:
                    issued.rotated |= issued.pair.refresh_token == refresh_token
                by = "elsewhere" if self._elsewhere else "connector"
                self.issued.append(
                    Issued(outcome.pair, self.fake.clock.timestamp(), by)
                )
            return outcome

        # The fake has no hook for issued pairs; wrap this instance's methods.
        book.mint = minted  # type: ignore[method-assign]
        book.refresh = refreshed  # type: ignore[method-assign]

    def newest_live(self) -> Issued | None:
        """The newest pair the fake issued that it still accepts."""
        live = [issued for issued in self.issued if self._accepts(issued)]
        return live[-1] if live else None

    def is_live(self, refresh_token: str) -> bool:
        found = [i for i in self.issued if i.pair.refresh_token == refresh_token]
        return bool(found) and self._accepts(found[0])

    def _accepts(self, issued: Issued) -> bool:
        ttl = self.fake.config.refresh_token_ttl
        return not issued.rotated and self.fake.clock.timestamp() < issued.at + ttl

    # -- the connector's side ----------------------------------------------------

    def _paste(self, pair: TokenPair) -> Credentials:
        return Credentials(
            gateway_url=self.app.gateway_url,
            client_id=self.app.client_id,
            client_secret=self.app.client_secret,
            access_token=pair.access_token,
            refresh_token=pair.refresh_token,
        )

    def _open_client(self) -> CentralClient:
        client = CentralClient(
            self.credentials,
            store=self.store,
            connect_to=(self.running.host, self.running.port),
            ca_file=self.running.ca_file,
            timeout=5.0,
            # A high rate keeps the real-time bucket out of the way; the window
            # guard paces alone, on the virtual clock, 7 calls a window as in
            # production (where the default 6.8/s gives the same burst).
            rate_per_second=1000.0,
            per_second_limit=self.fake.config.per_second_limit,
            now=self.fake.clock.now,
            sleep=self.time.sleep,
            jitter=lambda low, high: low,
        )
        self.loop.run_until_complete(client.open())
        return client

    def operate(self, name: str, work: Any) -> Any:
        """Run one operation to its end and judge it, call by call."""
        first = self.fake.journal_log.last_seq
        try:
            result = self.loop.run_until_complete(work)
        except CentralError as error:
            self._judge_failure(name, error, first)
            return None

        outcomes = result if isinstance(result, list) else []
        errors = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
        for error in errors:
            if not isinstance(error, CentralError):
                raise error
            self._judge_failure(name, error, first)
        if not errors:
            self._check_store_is_newest(name)
        return result

    def _judge_failure(self, name: str, error: CentralError, first: int) -> None:
        fired = [entry.fault for entry in self.fake.journal_since(first) if entry.fault]
        if isinstance(error, RefreshTokenRejected):
            stored = self.store.load(self.app.client_id)
            assert stored is not None
            assert not self.is_live(stored.refresh_token.get_secret_value()), (
                f"{name}: the connector gave up on a pair the fake still accepts"
            )
        elif isinstance(error, RateLimited):
            assert any(":status" in label for label in fired), f"{name}: {error!r}"
        elif isinstance(error, UpstreamError):
            assert fired, f"{name}: an upstream error without any fault: {error!r}"
        else:
            raise AssertionError(f"{name}: unexpected {error!r}")

    def _check_store_is_newest(self, name: str) -> None:
        stored = self.store.load(self.app.client_id)
        newest = self.newest_live()
        assert stored is not None
        assert newest is not None
        assert stored.refresh_token.get_secret_value() == newest.pair.refresh_token, (
            f"{name} succeeded, but the store does not hold the newest live pair"
        )

    async def read(self, kind: str) -> Any:
        if kind == "sites":
            return await self.client.list_sites(offset=0, limit=100)
        if kind == "inventory":
            return await self.client.list_inventory(offset=0, limit=100)
        return await self.client.list_monitoring(kind, offset=0, limit=100)

    # -- rules: the connector ------------------------------------------------------

    @rule(kind=st.sampled_from(READS))
    def read_one_page(self, kind: str) -> None:
        self.operate(f"read {kind}", self.read(kind))

    @rule(kinds=st.lists(st.sampled_from(READS), min_size=2, max_size=12))
    def read_pages_at_once(self, kinds: list[str]) -> None:
        async def together() -> list[Any]:
            calls = (self.read(kind) for kind in kinds)
            return await asyncio.gather(*calls, return_exceptions=True)

        self.operate(f"{len(kinds)} reads at once", together())

    @rule(
        starts=st.lists(
            st.tuples(st.sampled_from(READS), st.floats(min_value=0, max_value=3)),
            min_size=2,
            max_size=12,
        )
    )
    def read_pages_staggered(self, starts: list[tuple[str, float]]) -> None:
        async def later(kind: str, delay: float) -> Any:
            await self.time.sleep(delay)
            return await self.read(kind)

        async def together() -> list[Any]:
            calls = (later(kind, delay) for kind, delay in starts)
            return await asyncio.gather(*calls, return_exceptions=True)

        self.operate(f"{len(starts)} staggered reads", together())

    @rule()
    def sync(self) -> None:
        with Store.open(
            self.workdir / "connector.db", now=self.fake.clock.now
        ) as store:
            result = self.operate("sync", sync_tenant(self.client, store))
        if result is None or result.partial:
            return
        tenant = self.fake.tenant(self.app.customer_id)
        assert (result.run.sites, result.run.devices) == (
            len(tenant.sites),
            len(tenant.devices),
        ), "the sync's counts differ from the fake's ground truth"

    @rule()
    def restart_the_process(self) -> None:
        self.loop.run_until_complete(self.client.close())
        self.client = self._open_client()

    # -- rules: the world around it -------------------------------------------------

    @rule(
        seconds=st.sampled_from([1.0, 299.0, 6_899.0, 7_100.0, 7_300.0, 16 * 86_400.0])
        | st.floats(min_value=0, max_value=8_000)
    )
    def move_the_clock(self, seconds: float) -> None:
        self.fake.clock.advance(seconds)

    @rule()
    def another_integration_refreshes(self) -> None:
        # No precondition that depends on earlier outcomes: the connector's timing
        # varies from run to run, and the rules hypothesis draws must not.
        newest = self.newest_live()
        if newest is None:
            return
        self._elsewhere = True
        try:
            self.fake.tokens.refresh(
                CLUSTER,
                self.app.client_id,
                self.app.client_secret,
                newest.pair.refresh_token,
            )
        finally:
            self._elsewhere = False

    @rule(n=st.integers(min_value=1, max_value=4))
    def burst_of_429s(self, n: int) -> None:
        headers = {"X-RateLimit-Limit-second": "7", "X-RateLimit-Remaining-second": "0"}
        action = {
            "kind": "status",
            "status": 429,
            "body": {"message": "API rate limit exceeded"},
            "headers": headers,
        }
        self.fake.arm_fault(
            {"match": {"method": "GET"}, "when": {"next": n}, "action": action}
        )

    @rule(
        n=st.integers(min_value=1, max_value=5),
        status=st.sampled_from([500, 502, 503, 504]),
        plain=st.booleans(),
    )
    def server_errors(self, n: int, status: int, plain: bool) -> None:
        action: dict[str, Any] = {
            "kind": "status",
            "status": status,
            "body": {"message": "An unexpected error occurred"},
        }
        if plain:
            action = {"kind": "plain_text", "status": status}
        self.fake.arm_fault(
            {"match": {"method": "GET"}, "when": {"next": n}, "action": action}
        )

    @rule()
    def lose_the_next_token_response(self) -> None:
        self.fake.arm_fault(
            {"when": {"next": 1}, "action": {"kind": "lose_token_response"}}
        )

    @rule()
    def user_mints_and_pastes_a_fresh_pair(self) -> None:
        try:
            pair = self.fake.mint(self.app.client_id)
        except MintRefused as refused:
            self.fake.clock.advance(refused.retry_after)
            pair = self.fake.mint(self.app.client_id)
        self.credentials = self._paste(pair)
        self.restart_the_process()

    @rule(
        add=st.integers(min_value=0, max_value=5),
        remove=st.integers(min_value=0, max_value=5),
    )
    def inventory_changes(self, add: int, remove: int) -> None:
        tenant = self.fake.tenant(self.app.customer_id)
        tenant.remove_sites(remove)
        tenant.add_sites(add)
        tenant.add_devices(add)

    # -- invariants --------------------------------------------------------------

    @invariant()
    def no_request_replays_a_token_the_connector_replaced(self) -> None:
        stale = [*self.watch.stale, *self.watch.stale_retries]
        assert not stale, (
            "requests went out with an access token the connector had already "
            f"replaced: {stale}"
        )

    @invariant()
    def one_refresh_per_expiry(self) -> None:
        mine = [issued.at for issued in self.issued if issued.by == "connector"]
        lifetime = self.fake.config.access_token_ttl - DEFAULT_REFRESH_LEEWAY
        gaps = [later - earlier for earlier, later in itertools.pairwise(mine)]
        assert all(gap >= lifetime - 1 for gap in gaps), (
            f"the connector refreshed again after {min(gaps):.0f} s; a token lives "
            f"{self.fake.config.access_token_ttl} s"
        )

    @invariant()
    def pacing_stays_within_the_per_second_budget(self) -> None:
        journal = self.fake.journal
        refused = [
            entry.seq
            for entry in journal
            if entry.status == 429 and entry.fault is None and entry.detail == "second"
        ]
        timeline = [
            (e.seq, e.time.time().isoformat(), e.path, e.status) for e in journal
        ]
        assert not refused, (
            f"the fake refused requests over its per-second budget: {refused}; "
            f"journal: {timeline}"
        )


def test_the_connector_and_the_fake_agree_on_tokens_data_and_pace(
    watched_sends: None,
) -> None:
    # Each example starts a TLS server, so the machine runs a third of the
    # profile's examples, with the profile's step count.
    profile = settings.default
    run_state_machine_as_test(
        ConnectorAndFake,
        settings=settings(profile, max_examples=max(5, profile.max_examples // 3)),
    )


@pytest.fixture
def machine(watched_sends: None) -> Any:
    walk = ConnectorAndFake()
    yield walk
    walk.teardown()


def test_many_reads_after_expiry_cause_exactly_one_rotation(
    machine: ConnectorAndFake,
) -> None:
    machine.move_the_clock(7_300.0)

    machine.read_pages_at_once(["sites", "inventory", "aps"] * 4)

    assert machine.fake.refresh_count(machine.app.client_id) == 1
    machine.no_request_replays_a_token_the_connector_replaced()
    machine.pacing_stays_within_the_per_second_budget()


def test_a_rotation_elsewhere_costs_one_request_and_asks_for_a_fresh_pair(
    machine: ConnectorAndFake,
) -> None:
    machine.read_one_page("sites")
    machine.another_integration_refreshes()

    with pytest.raises(RefreshTokenRejected, match="mint a fresh"):
        machine.loop.run_until_complete(machine.read("sites"))

    rotated = [e for e in machine.fake.journal if e.token_state == "rotated"]
    assert len(rotated) == 1
    assert machine.watch.stale == []


def test_a_retry_after_a_refresh_carries_the_new_token(
    machine: ConnectorAndFake,
) -> None:
    # The inventory call meets a 502 and backs off; the other lists meet 401 for
    # the expired pair, and one refresh replaces it before the retry goes out.
    machine.read_one_page("sites")
    machine.fake.clock.advance(7_300.0)
    machine.fake.arm_fault(
        {
            "match": {"path": "/platform/device_inventory/v1/devices"},
            "when": {"next": 1},
            "action": {"kind": "plain_text", "status": 502},
        }
    )
    refreshed_at = machine.store.saves + 1
    settle = machine.time.quiet
    machine.time.quiet = lambda: settle() and machine.store.saves >= refreshed_at

    machine.sync()

    assert machine.watch.stale_retries == []


@pytest.mark.slow
def test_long_walks_keep_the_connector_and_the_fake_in_agreement(
    watched_sends: None,
) -> None:
    # Nightly: long walks reach what short ones cannot (a refresh token outliving
    # many restarts, faults armed far ahead of the call they hit).
    profile = settings.default
    run_state_machine_as_test(
        ConnectorAndFake,
        settings=settings(
            profile,
            max_examples=max(10, profile.max_examples // 10),
            stateful_step_count=max(100, profile.stateful_step_count * 2),
        ),
    )
