"""The journal: every request, secrets masked, bounded; and no secret in the logs."""

from __future__ import annotations

import json
import logging

import aiohttp
import pytest
from fake_helpers import SITES, TOKEN, Gateway

from fake_central import AppInfo, FakeCentral, FakeConfig, TokenPair
from fake_central.sensitive import MASK, mask_pairs
from fake_central.testing import serve_fake


async def test_every_request_is_journaled_including_control_and_oauth(
    gateway: Gateway, fake: FakeCentral, app_info: AppInfo, pair: TokenPair
) -> None:
    await gateway.control("GET", "/health")
    await gateway.refresh(app_info, pair.refresh_token)
    await gateway.get("/unknown/path")
    await gateway.get(SITES, host="nowhere.example.test")

    paths = [(entry.method, entry.path, entry.status) for entry in fake.journal]
    assert paths == [
        ("GET", "/_fake/health", 200),
        ("POST", TOKEN, 200),
        ("GET", "/unknown/path", 404),
        ("GET", SITES, 421),
    ]
    assert [entry.seq for entry in fake.journal] == [1, 2, 3, 4]
    assert fake.journal[3].cluster == "unknown"


async def test_secrets_in_the_query_are_masked_and_ordinary_values_kept(
    gateway: Gateway, fake: FakeCentral, app_info: AppInfo, pair: TokenPair
) -> None:
    await gateway.refresh(app_info, pair.refresh_token)
    await gateway.get(SITES, params={"access_token": "abc", "limit": "5"})

    refresh, call = fake.journal
    assert refresh.query == {
        "client_id": app_info.client_id,
        "client_secret": MASK,
        "grant_type": "refresh_token",
        "refresh_token": MASK,
    }
    assert refresh.grant == "refresh_token"
    assert refresh.outcome == "rotated"
    assert refresh.client_id == app_info.client_id
    assert call.query == {"access_token": MASK, "limit": "5"}


async def test_no_secret_reaches_the_journal_over_http(
    gateway: Gateway, fake: FakeCentral, app_info: AppInfo, pair: TokenPair
) -> None:
    fresh = (await gateway.refresh(app_info, pair.refresh_token, style="json")).json()
    await gateway.refresh(app_info, fresh["refresh_token"], style="form")
    await gateway.get(SITES, params={"access_token": pair.access_token})
    await gateway.refresh(app_info, pair.refresh_token, client_secret="guess")

    dumped = (await gateway.control("GET", "/journal")).text

    secrets = {app_info.client_secret, pair.access_token, pair.refresh_token}
    secrets |= {fresh["access_token"], fresh["refresh_token"], "guess"}
    assert not [secret for secret in secrets if secret in dumped]


async def test_the_journal_is_bounded(gateway: Gateway, fake: FakeCentral) -> None:
    fake.configure(journal_size=3)

    for _ in range(5):
        await gateway.control("GET", "/health")

    assert [entry.seq for entry in fake.journal] == [3, 4, 5]


async def test_the_journal_can_be_read_from_a_sequence_number(
    gateway: Gateway, fake: FakeCentral, app_info: AppInfo
) -> None:
    for _ in range(3):
        await gateway.control("GET", "/health")

    reply = await gateway.control(
        "GET", "/journal", params={"since": "2", "limit": "1"}
    )

    body = reply.json()
    assert [entry["seq"] for entry in body["entries"]] == [3]
    assert body["last_seq"] == 3  # the reading request is journaled after it answers
    assert body["entries"][0]["time"] == "2026-01-05T12:00:00Z"


async def test_the_journal_filters_by_client_id_and_path(
    gateway: Gateway, fake: FakeCentral, app_info: AppInfo, pair: TokenPair
) -> None:
    await gateway.get(SITES, pair.access_token)
    await gateway.control("GET", "/health")

    by_client = fake.journal_since(0, client_id=app_info.client_id)
    by_path = fake.journal_since(0, path="/_fake/health")

    assert [entry.path for entry in by_client] == [SITES]
    assert [entry.path for entry in by_path] == ["/_fake/health"]


def test_masking_knows_the_sensitive_names_whatever_their_case() -> None:
    masked = mask_pairs([("Client_Secret", "s"), ("code", "c"), ("offset", "0")])

    assert masked == {"Client_Secret": MASK, "code": MASK, "offset": "0"}


async def test_a_whole_refresh_and_sync_cycle_at_debug_logs_no_secret(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake = FakeCentral(FakeConfig(per_second_limit=1))
    app = fake.create_app()
    pair = fake.mint(app.client_id)
    fake.load_inventory(app.customer_id, sites=3, devices=10, seed=1)

    async with serve_fake(fake) as running, aiohttp.ClientSession() as session:
        gateway = Gateway(session, running)
        fresh = (await gateway.refresh(app, pair.refresh_token)).json()
        for _ in range(2):
            await gateway.get(SITES, fresh["access_token"])
        await gateway.get(SITES, pair.access_token)
        await gateway.refresh(app, pair.refresh_token, style="json")
        await gateway.control("POST", f"/apps/{app.client_id}/tokens")
        await gateway.control("GET", "/apps")

    logged = "\n".join(record.getMessage() for record in caplog.records)
    logged += json.dumps([entry.model_dump(mode="json") for entry in fake.journal])
    secrets = {
        app.client_secret,
        pair.access_token,
        pair.refresh_token,
        *fresh.values(),
    }
    assert "fake_central" in {record.name.split(".")[0] for record in caplog.records}
    assert not [
        secret for secret in secrets if isinstance(secret, str) and secret in logged
    ]
