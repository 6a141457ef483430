"""Fixtures for the fake gateway's own tests.

Every test gets a fresh ``FakeCentral`` on a frozen clock (2026-01-05 12:00 UTC),
so token expiry, the mint window and rate-limit windows move only when a test
moves them. ``gateway`` talks to a served fake over loopback HTTP; pass
``cluster=`` to address a cluster by its real hostname (the Host header).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from fake_helpers import START, Gateway

from fake_central import AppInfo, FakeCentral, FakeClock, Tenant, TokenPair
from fake_central.testing import RunningFake, serve_fake


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=START, frozen=True)


@pytest.fixture
def fake(clock: FakeClock) -> FakeCentral:
    return FakeCentral(clock=clock)


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
async def running(fake: FakeCentral) -> AsyncIterator[RunningFake]:
    async with serve_fake(fake) as served:
        yield served


@pytest.fixture
async def gateway(running: RunningFake) -> AsyncIterator[Gateway]:
    async with aiohttp.ClientSession() as session:
        yield Gateway(session, running)
