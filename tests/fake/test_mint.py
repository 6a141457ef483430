"""The "Generate New Token" mint and its 30-minute rule."""

from __future__ import annotations

import pytest
from fake_helpers import SITES, Gateway

from fake_central import AppInfo, FakeCentral, FakeClock, MintRefused, UnknownClient


def test_a_second_mint_within_thirty_minutes_is_refused_with_the_wait(
    fake: FakeCentral, app_info: AppInfo, clock: FakeClock
) -> None:
    fake.mint(app_info.client_id)
    clock.advance(600)

    with pytest.raises(MintRefused, match="Cannot generate a new token") as refused:
        fake.mint(app_info.client_id)

    assert refused.value.retry_after == 1200
    assert "wait 1200 s" in str(refused.value)


def test_a_mint_is_allowed_again_once_the_window_has_passed(
    fake: FakeCentral, app_info: AppInfo, clock: FakeClock
) -> None:
    fake.mint(app_info.client_id)
    clock.advance(1800)

    pair = fake.mint(app_info.client_id)

    assert pair.expires_in == 7200


def test_the_mint_rule_is_per_client_id(fake: FakeCentral, app_info: AppInfo) -> None:
    other = fake.create_app(customer_id=app_info.customer_id)
    fake.mint(app_info.client_id)

    assert fake.mint(other.client_id).access_token


def test_the_mint_rule_can_be_switched_off(
    fake: FakeCentral, app_info: AppInfo
) -> None:
    fake.configure(mint_rule_enabled=False)
    fake.mint(app_info.client_id)

    assert fake.mint(app_info.client_id).access_token


def test_refreshes_do_not_count_as_mints(fake: FakeCentral, app_info: AppInfo) -> None:
    pair = fake.mint(app_info.client_id)

    outcome = fake.tokens.refresh(
        "US-2", app_info.client_id, app_info.client_secret, pair.refresh_token
    )

    assert outcome.outcome == "rotated"
    with pytest.raises(MintRefused):
        fake.mint(app_info.client_id)


def test_minting_for_an_unknown_client_says_how_to_create_one(
    fake: FakeCentral,
) -> None:
    with pytest.raises(UnknownClient, match="create one"):
        fake.mint("nobody")


async def test_the_mint_over_http_refuses_a_second_mint_until_the_clock_moves(
    gateway: Gateway, app_info: AppInfo
) -> None:
    path = f"/apps/{app_info.client_id}/tokens"

    first = await gateway.control("POST", path)
    refused = await gateway.control("POST", path)
    moved = await gateway.control("POST", "/clock", {"advance": 1799})
    still_refused = await gateway.control("POST", path)
    await gateway.control("POST", "/clock", {"advance": 1})
    allowed = await gateway.control("POST", path)

    assert first.status == 200
    assert set(first.json()) == {
        "access_token",
        "refresh_token",
        "token_type",
        "expires_in",
    }
    assert refused.status == 429
    assert "Cannot generate a new token" in refused.json()["error"]
    assert refused.json()["retry_after"] == 1800
    assert refused.headers["Retry-After"] == "1800"
    assert moved.json()["time"] == "2026-01-05T12:29:59+00:00"
    assert still_refused.json()["retry_after"] == 1
    assert allowed.status == 200


async def test_a_minted_pair_works_against_the_api(
    gateway: Gateway, app_info: AppInfo
) -> None:
    minted = (
        await gateway.control("POST", f"/apps/{app_info.client_id}/tokens")
    ).json()

    reply = await gateway.get(SITES, minted["access_token"])

    assert reply.status == 200


async def test_the_mint_of_an_unknown_client_is_not_found(gateway: Gateway) -> None:
    reply = await gateway.control("POST", "/apps/nobody/tokens")

    assert reply.status == 404
    assert "nobody" in reply.json()["message"]


async def test_an_app_status_shows_the_mint_wait_without_the_secret(
    gateway: Gateway, app_info: AppInfo, fake: FakeCentral
) -> None:
    fake.mint(app_info.client_id)

    reply = await gateway.control("GET", f"/apps/{app_info.client_id}")

    status = reply.json()
    assert status["mint_retry_after"] == 1800
    assert status["client_secret"] == "***"
    assert app_info.client_secret not in reply.text
