"""Fixtures of the sync, store and CLI tests.

Store tests get a fresh database on a hand-moved clock. Sync and CLI tests also get
a fake gateway on a frozen clock, with its per-second limit off (the tests would
otherwise wait out real rate-limit windows), serving a 40-site, 300-device tenant
over TLS; the connector reaches it through ``connect_to`` and ``ca_file``, the
code path real deployments take.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sync_support import START, Cli, Snapshot, StepClock

from connector import CentralClient, Credentials, SqliteTokenStore
from connector.store import InventoryRow, MonitoringRow, SiteRow, Store
from fake_central import AppInfo, FakeCentral, FakeClock, FakeConfig, Tenant, TokenPair
from fake_central.testing import RunningFake, serve_fake, serve_fake_in_thread

FAST = 1000.0
"""Client rate for tests: the fake's limit is off, so nothing needs pacing."""


@pytest.fixture
def clock() -> StepClock:
    return StepClock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "central-connector.db"


@pytest.fixture
def store(db_path: Path, clock: StepClock) -> Iterator[Store]:
    with Store.open(db_path, now=clock) as opened:
        yield opened


@pytest.fixture
def snapshot() -> Snapshot:
    """Three sites (one an internal lab), four devices, one never checked in."""
    return Snapshot(
        sites=[
            SiteRow(1, "Harbour Clinic", city="Oslo"),
            SiteRow(2, "Northside Depot"),
            SiteRow(3, "Internal Lab"),
        ],
        inventory=[
            InventoryRow("CNAP000001", "ap", "iap", "AP-505", "aa:00:00:00:00:01"),
            InventoryRow(
                "CNSW000002", "switch", "SWITCH", "6300M", "aa:00:00:00:00:02"
            ),
            InventoryRow(
                "CNGW000003", "gateway", "gateway", "9004", "aa:00:00:00:00:03"
            ),
            InventoryRow("CNAP000004", "ap", "AP", "AP-515", "aa:00:00:00:00:04"),
        ],
        monitoring=[
            MonitoringRow("CNAP000001", "lobby", "Harbour Clinic", "Up", "10.4"),
            MonitoringRow("CNSW000002", "core", "Northside Depot", "Down", "10.13"),
            MonitoringRow("CNGW000003", "edge", "Internal Lab", "Up", "10.5"),
        ],
    )


# --- the fake gateway ---------------------------------------------------------


@pytest.fixture
def fake() -> FakeCentral:
    clock = FakeClock(start=START, frozen=True)
    return FakeCentral(config=FakeConfig(rate_limit_enabled=False), clock=clock)


@pytest.fixture
def app(fake: FakeCentral) -> AppInfo:
    return fake.create_app(cluster="US-2", app_type="network_operations")


@pytest.fixture
def tenant(fake: FakeCentral, app: AppInfo) -> Tenant:
    return fake.load_inventory(
        app.customer_id, sites=40, devices=300, seed=1, unmonitored_fraction=0.1
    )


@pytest.fixture
def pair(fake: FakeCentral, app: AppInfo) -> TokenPair:
    return fake.mint(app.client_id)


@pytest.fixture
def credentials(app: AppInfo, pair: TokenPair) -> Credentials:
    return Credentials(
        gateway_url=app.gateway_url,
        client_id=app.client_id,
        client_secret=app.client_secret,
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
    )


@pytest.fixture
async def running(fake: FakeCentral) -> AsyncIterator[RunningFake]:
    async with serve_fake(fake, tls=True) as served:
        yield served


@pytest.fixture
async def client(
    running: RunningFake, credentials: Credentials, store: Store, tenant: Tenant
) -> AsyncIterator[CentralClient]:
    """A client of the served fake, its tokens kept in the store's file."""
    async with CentralClient(
        credentials,
        store=SqliteTokenStore(store.path),
        connect_to=(running.host, running.port),
        ca_file=running.ca_file,
        rate_per_second=FAST,
    ) as opened:
        yield opened


# --- the command line ---------------------------------------------------------


@pytest.fixture
def served(fake: FakeCentral, tenant: Tenant) -> Iterator[RunningFake]:
    """The fake on its own loop in a thread: the CLI runs its own event loop."""
    with serve_fake_in_thread(fake, tls=True) as running:
        yield running


@pytest.fixture
def credentials_file(tmp_path: Path, credentials: Credentials) -> Path:
    path = tmp_path / "credentials.json"
    values = {name: getattr(credentials, name) for name in Credentials.FIELDS}
    path.write_text(
        json.dumps(
            {
                name: value.get_secret_value()
                if isinstance(value, SecretStr)
                else value
                for name, value in values.items()
            }
        )
    )
    return path


@pytest.fixture
def cli(served: RunningFake, credentials_file: Path, db_path: Path) -> Cli:
    """``central-connector`` pointed at the served fake over TLS."""
    return Cli(
        [
            "--credentials",
            str(credentials_file),
            "--db",
            str(db_path),
            "--connect-to",
            f"{served.host}:{served.port}",
            "--ca-file",
            str(served.ca_file),
        ]
    )


@pytest.fixture
def offline_cli(db_path: Path) -> Cli:
    """``central-connector`` for the commands that only read the database."""
    return Cli(["--db", str(db_path)])
