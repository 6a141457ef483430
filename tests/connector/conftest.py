"""Fixtures for the connector's tests.

Integration tests reach the fake gateway the way production reaches Central: over
TLS to the real cluster hostname, dialled at the fake's loopback port through the
client's ``connect_to`` and verified against the fake's CA file. The fake runs on
a frozen clock (2026-01-05 12:00 UTC); the client reads the same clock and its
``sleep`` moves it, so nothing waits for real.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from connector_helpers import START, ClientFactory, FakeTime

from connector import CentralClient, Credentials, JsonFileTokenStore, TokenStore
from fake_central import AppInfo, FakeCentral, FakeClock, FakeConfig, Tenant, TokenPair
from fake_central.testing import RunningFake, serve_fake


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=START, frozen=True)


@pytest.fixture
def fake_config() -> FakeConfig:
    return FakeConfig()


@pytest.fixture
def fake(clock: FakeClock, fake_config: FakeConfig) -> FakeCentral:
    return FakeCentral(config=fake_config, clock=clock)


@pytest.fixture
def app_info(fake: FakeCentral) -> AppInfo:
    return fake.create_app(cluster="US-2", app_type="network_operations")


@pytest.fixture
def pair(fake: FakeCentral, app_info: AppInfo) -> TokenPair:
    return fake.mint(app_info.client_id)


@pytest.fixture
def tenant(fake: FakeCentral, app_info: AppInfo) -> Tenant:
    return fake.load_inventory(app_info.customer_id, sites=40, devices=300, seed=1)


@pytest.fixture
def creds(app_info: AppInfo, pair: TokenPair) -> Credentials:
    return Credentials(
        gateway_url=app_info.gateway_url,
        client_id=app_info.client_id,
        client_secret=app_info.client_secret,
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
    )


@pytest.fixture
def fake_time(clock: FakeClock) -> FakeTime:
    return FakeTime(clock)


@pytest.fixture
async def running(fake: FakeCentral) -> AsyncIterator[RunningFake]:
    async with serve_fake(fake, tls=True) as served:
        yield served


@pytest.fixture
def token_store(tmp_path: Path) -> TokenStore:
    return JsonFileTokenStore(tmp_path / "tokens.json")


@pytest.fixture
async def make_client(
    running: RunningFake,
    creds: Credentials,
    fake_time: FakeTime,
    token_store: TokenStore,
) -> AsyncIterator[ClientFactory]:
    """Build clients wired to the served fake; all are closed after the test."""
    made: list[CentralClient] = []

    def factory(
        credentials: Credentials | None = None, **options: Any
    ) -> CentralClient:
        settings: dict[str, Any] = {
            "store": token_store,
            "connect_to": (running.host, running.port),
            "ca_file": running.ca_file,
            "now": fake_time.now,
            "sleep": fake_time.sleep,
            "jitter": lambda low, high: (low + high) / 2,
            "rate_per_second": 1000.0,
            "per_second_limit": 7,
        }
        settings.update(options)
        client = CentralClient(credentials or creds, **settings)
        made.append(client)
        return client

    yield factory
    await asyncio.gather(*(client.close() for client in made))
