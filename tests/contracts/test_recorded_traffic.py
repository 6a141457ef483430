"""The connector's real traffic, recorded once and replayed in CI.

Each scenario runs the connector exactly as it runs in production. While recording
(``nox -s record``) it talks to the fake over TLS, or to Central with ``--live``;
in CI vcrpy answers from the cassette and nothing listens. Replays must use every
recorded exchange and no other: a connector that changes its traffic fails here.

``test_cassette_files.py`` then holds every cassette to the contract and to the
no-secrets rule.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from contract_recording import Target

from connector.errors import PermissionDenied
from connector.store import Store
from connector.sync import sync_tenant

pytestmark = pytest.mark.vcr

BOTH_SOURCES = pytest.mark.parametrize("source", ["fake", "live"])
# Central cannot be made to answer 403 or 429 on demand without a second API client
# or an abusive burst; these scenarios are recorded against the fake only.
FAKE_ONLY = pytest.mark.parametrize("source", ["fake"])


def _all_played(cassette: Any, central: Target) -> None:
    if not central.recording:
        assert cassette.all_played, "the replay left recorded exchanges unused"


def _generation(central: Target) -> int:
    stored = central.store.load(central.credentials.client_id)
    return stored.generation if stored is not None else 0


@BOTH_SOURCES
async def test_a_refresh_rotates_the_pair_and_the_next_call_carries_it(
    central: Target, vcr: Any
) -> None:
    before = _generation(central)

    async with central.client() as client:
        await client.refresh_tokens()
        page = await client.list_sites(offset=0, limit=5)

    stored = central.store.load(central.credentials.client_id)
    assert stored is not None
    assert client.stats.refreshes == 1
    assert stored.generation == before + 1
    pasted = central.credentials.refresh_token.get_secret_value()
    assert stored.refresh_token.get_secret_value() != pasted
    assert page.count == len(page.sites)
    if central.mode == "fake":
        assert central.fake.refresh_count(central.credentials.client_id) == 1
    _all_played(vcr, central)


@BOTH_SOURCES
async def test_a_paginated_sync_reads_every_page_of_every_list(
    central: Target, vcr: Any, tmp_path: Path, source: str
) -> None:
    store = Store.open(tmp_path / "central.db")

    async with central.client() as client:
        result = await sync_tenant(client, store, limit=central.page_limit)
    store.close()

    assert not result.partial, result.lists
    assert set(result.lists) == {"sites", "inventory", "aps", "switches", "gateways"}
    assert all(outcome.items == outcome.expected for outcome in result.lists.values())
    assert max(outcome.pages for outcome in result.lists.values()) > 1
    if source == "fake":  # in virtual time the pacer is exact; Central may still 429
        assert client.stats.rate_limited == 0
    _all_played(vcr, central)


@BOTH_SOURCES
async def test_a_401_leads_to_one_refresh_and_a_replay(
    central: Target, vcr: Any
) -> None:
    central.age_the_access_token()

    async with central.client() as client:
        page = await client.list_sites(offset=0, limit=5)

    assert page.count == len(page.sites)
    assert client.stats.unauthorized == 1
    assert client.stats.refreshes == 1
    if central.mode == "fake":
        states = [entry.token_state for entry in central.fake.journal]
        assert "expired" in states
    _all_played(vcr, central)


@FAKE_ONLY
async def test_a_403_raises_permission_denied_without_a_refresh(
    central: Target, vcr: Any
) -> None:
    central.switch_to_an_app_without_the_role()

    async with central.client() as client:
        with pytest.raises(PermissionDenied, match="wrong application"):
            await client.list_sites(offset=0, limit=5)

    assert client.stats.refreshes == 0
    _all_played(vcr, central)


@FAKE_ONLY
async def test_a_429_is_backed_off_and_retried(central: Target, vcr: Any) -> None:
    central.spend_the_per_second_budget()

    async with central.client() as client:
        page = await client.list_sites(offset=0, limit=5)

    assert page.count == len(page.sites)
    assert client.stats.rate_limited == 1
    assert central.clock is not None
    assert sum(central.clock.slept) >= 1.0  # a whole server window, in virtual time
    _all_played(vcr, central)
