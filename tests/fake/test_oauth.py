"""OAuth as the Classic gateway does it: refresh with rotation, expiry, errors."""

from __future__ import annotations

import base64

import pytest
from fake_helpers import SITES, TOKEN, Gateway

from fake_central import AppInfo, FakeCentral, FakeClock, FakeConfig, TokenPair

INVALID_TOKEN = {
    "error": "invalid_token",
    "error_description": "The access token is invalid or has expired",
}
INVALID_REFRESH = {
    "error": "invalid_request",
    "error_description": "Invalid refresh_token",
}
INVALID_CLIENT = {
    "error": "invalid_client",
    "error_description": "Invalid client authentication",
}


@pytest.mark.parametrize("style", ["query", "json", "form"])
async def test_refresh_accepts_parameters_in_query_json_or_form(
    gateway: Gateway, app_info: AppInfo, pair: TokenPair, style: str
) -> None:
    reply = await gateway.refresh(app_info, pair.refresh_token, style=style)

    body = reply.json()
    assert reply.status == 200
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 7200
    assert len(body["access_token"]) == 32
    assert len(body["refresh_token"]) == 32
    assert body["refresh_token"] != pair.refresh_token


async def test_token_responses_are_never_cached(
    gateway: Gateway, app_info: AppInfo, pair: TokenPair
) -> None:
    good = await gateway.refresh(app_info, pair.refresh_token)
    bad = await gateway.refresh(app_info, pair.refresh_token)

    for reply in (good, bad):
        assert reply.headers["Cache-Control"] == "no-store"
        assert reply.headers["Pragma"] == "no-cache"


async def test_a_refresh_kills_the_old_access_token_and_the_old_refresh_token_at_once(
    gateway: Gateway, fake: FakeCentral, app_info: AppInfo, pair: TokenPair
) -> None:
    fresh = (await gateway.refresh(app_info, pair.refresh_token)).json()

    old_access = await gateway.get(SITES, pair.access_token)
    old_refresh = await gateway.refresh(app_info, pair.refresh_token)
    new_access = await gateway.get(SITES, fresh["access_token"])

    assert old_access.status == 401
    assert old_access.json() == INVALID_TOKEN
    assert old_refresh.status == 400
    assert old_refresh.json() == INVALID_REFRESH
    assert new_access.status == 200
    assert fake.refresh_count(app_info.client_id) == 1


async def test_the_journal_says_why_a_token_failed(
    gateway: Gateway, fake: FakeCentral, app_info: AppInfo, pair: TokenPair
) -> None:
    await gateway.refresh(app_info, pair.refresh_token)
    await gateway.get(SITES, pair.access_token)
    await gateway.refresh(app_info, pair.refresh_token)
    await gateway.get(SITES, "x" * 32)

    rotated, used, unknown = fake.journal[1:]
    assert (rotated.token_state, rotated.client_id) == ("rotated", app_info.client_id)
    assert (used.grant, used.outcome, used.detail) == (
        "refresh_token",
        "invalid_refresh_token",
        "used",
    )
    assert (unknown.token_state, unknown.client_id) == ("unknown", None)


async def test_access_tokens_expire_after_two_hours(
    gateway: Gateway, clock: FakeClock, pair: TokenPair
) -> None:
    clock.advance(7199)
    still_good = await gateway.get(SITES, pair.access_token)
    clock.advance(1)
    expired = await gateway.get(SITES, pair.access_token)

    assert still_good.status == 200
    assert expired.status == 401
    assert expired.json() == INVALID_TOKEN
    assert "invalid_token" in expired.headers["WWW-Authenticate"]


async def test_refresh_tokens_expire_after_fifteen_days_by_default(
    gateway: Gateway, clock: FakeClock, app_info: AppInfo, pair: TokenPair
) -> None:
    clock.advance(15 * 86_400)

    reply = await gateway.refresh(app_info, pair.refresh_token)

    assert reply.status == 400
    assert reply.json() == INVALID_REFRESH


async def test_the_refresh_token_lifetime_is_configurable(
    gateway: Gateway, fake: FakeCentral, clock: FakeClock, app_info: AppInfo
) -> None:
    fake.configure(refresh_token_ttl=14 * 86_400)
    pair = fake.mint(app_info.client_id)
    clock.advance(14 * 86_400 - 1)

    reply = await gateway.refresh(app_info, pair.refresh_token)

    assert reply.status == 200


async def test_an_api_call_without_a_token_is_told_the_token_is_missing(
    gateway: Gateway, fake: FakeCentral
) -> None:
    reply = await gateway.get(SITES)

    assert reply.status == 401
    assert reply.json() == {
        "error": "invalid_request",
        "error_description": "The access token is missing",
    }
    assert reply.headers["WWW-Authenticate"] == 'Bearer realm="service"'
    assert fake.journal[-1].token_state == "missing"


async def test_the_access_token_may_travel_in_the_query_string(
    gateway: Gateway, pair: TokenPair
) -> None:
    reply = await gateway.get(SITES, params={"access_token": pair.access_token})

    assert reply.status == 200


@pytest.mark.parametrize(
    ("secret", "expected"),
    [
        pytest.param("wrong-secret", INVALID_CLIENT, id="wrong secret"),
        pytest.param("", INVALID_CLIENT, id="empty secret"),
    ],
)
async def test_a_wrong_client_secret_is_an_invalid_client(
    gateway: Gateway,
    app_info: AppInfo,
    pair: TokenPair,
    secret: str,
    expected: dict[str, str],
) -> None:
    reply = await gateway.refresh(app_info, pair.refresh_token, client_secret=secret)

    assert reply.status == 400
    assert reply.json() == expected


async def test_an_unknown_client_id_is_an_invalid_client(gateway: Gateway) -> None:
    params = {
        "client_id": "nobody",
        "client_secret": "x",
        "grant_type": "refresh_token",
        "refresh_token": "y",
    }

    reply = await gateway.request("POST", TOKEN, params=params)

    assert reply.status == 400
    assert reply.json() == INVALID_CLIENT


async def test_a_refresh_token_of_another_app_is_an_invalid_client(
    gateway: Gateway, fake: FakeCentral, app_info: AppInfo
) -> None:
    other = fake.create_app(cluster="US-2", customer_id=app_info.customer_id)
    other_pair = fake.mint(other.client_id)

    reply = await gateway.refresh(app_info, other_pair.refresh_token)

    assert reply.status == 400
    assert reply.json() == INVALID_CLIENT


async def test_basic_client_credentials_that_fail_get_a_basic_challenge(
    gateway: Gateway, app_info: AppInfo, pair: TokenPair
) -> None:
    basic = base64.b64encode(f"{app_info.client_id}:wrong".encode()).decode()
    params = {"grant_type": "refresh_token", "refresh_token": pair.refresh_token}

    reply = await gateway.request(
        "POST", TOKEN, params=params, headers={"Authorization": f"Basic {basic}"}
    )

    assert reply.status == 401
    assert reply.json() == INVALID_CLIENT
    assert reply.headers["WWW-Authenticate"] == 'Basic realm="OAuth2.0"'


async def test_basic_client_credentials_that_match_refresh_the_pair(
    gateway: Gateway, app_info: AppInfo, pair: TokenPair
) -> None:
    basic = base64.b64encode(f"{app_info.client_id}:{app_info.client_secret}".encode())
    params = {"grant_type": "refresh_token", "refresh_token": pair.refresh_token}

    reply = await gateway.request(
        "POST",
        TOKEN,
        params=params,
        headers={"Authorization": f"Basic {basic.decode()}"},
    )

    assert reply.status == 200


@pytest.mark.parametrize(
    ("grant_type", "expected"),
    [
        pytest.param(
            "password",
            {
                "error": "unsupported_grant_type",
                "error_description": "Invalid grant_type",
            },
            id="password grant",
        ),
        pytest.param(
            "",
            {
                "error": "unsupported_grant_type",
                "error_description": "Invalid grant_type",
            },
            id="empty grant",
        ),
        pytest.param(
            "authorization_code",
            {"error": "invalid_request", "error_description": "Invalid code"},
            id="auth code never issued",
        ),
    ],
)
async def test_grants_other_than_refresh_are_refused(
    gateway: Gateway, app_info: AppInfo, grant_type: str, expected: dict[str, str]
) -> None:
    params = {"client_id": app_info.client_id, "grant_type": grant_type}

    reply = await gateway.request("POST", TOKEN, params=params)

    assert reply.status == 400
    assert reply.json() == expected


async def test_the_old_pair_keeps_working_until_it_is_used(
    gateway: Gateway,
    fake: FakeCentral,
    app_info: AppInfo,
    pair: TokenPair,
    clock: FakeClock,
) -> None:
    clock.advance(1800)
    second = fake.mint(app_info.client_id)

    first_still_works = await gateway.get(SITES, pair.access_token)
    second_works = await gateway.get(SITES, second.access_token)

    assert first_still_works.status == 200
    assert second_works.status == 200


def test_token_pairs_and_apps_hide_their_secrets_from_repr(
    app_info: AppInfo, pair: TokenPair
) -> None:
    shown = repr(app_info) + repr(pair) + str(pair) + str(app_info)

    for secret in (app_info.client_secret, pair.access_token, pair.refresh_token):
        assert secret not in shown


def test_a_custom_access_token_lifetime_is_reported_in_expires_in() -> None:
    fake = FakeCentral(FakeConfig(access_token_ttl=600))
    app = fake.create_app()

    assert fake.mint(app.client_id).expires_in == 600
