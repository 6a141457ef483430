"""403 by app type, 429 by budget, and the rate-limit headers on every answer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fake_helpers import API_PATHS, INVENTORY, SITES, Gateway

from fake_central import AppInfo, FakeCentral, FakeClock, TokenPair

RATE_HEADERS = (
    "X-RateLimit-Limit-second",
    "X-RateLimit-Remaining-second",
    "X-RateLimit-Limit-day",
    "X-RateLimit-Remaining-day",
)


# -- 403 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status"),
    [
        pytest.param(INVENTORY, 200, id="inventory allowed"),
        pytest.param(SITES, 403, id="sites refused"),
        pytest.param("/monitoring/v2/aps", 403, id="monitoring refused"),
    ],
)
async def test_an_account_home_app_reads_only_the_platform_apis(
    gateway: Gateway, fake: FakeCentral, path: str, status: int
) -> None:
    app = fake.create_app(app_type="account_home")
    token = fake.mint(app.client_id).access_token

    reply = await gateway.get(path, token)

    assert reply.status == status
    if status == 403:
        assert reply.json() == {"message": "Permission denied"}
        assert fake.journal[-1].outcome == "forbidden"


async def test_the_forbidden_body_and_app_types_are_configurable(
    gateway: Gateway, fake: FakeCentral
) -> None:
    fake.configure(
        app_types={"sites_only": ["/central/"]},
        forbidden_body={"message": "Insufficient scope", "code": "RBAC"},
    )
    app = fake.create_app(app_type="sites_only")
    token = fake.mint(app.client_id).access_token

    sites = await gateway.get(SITES, token)
    inventory = await gateway.get(INVENTORY, token)

    assert sites.status == 200
    assert inventory.status == 403
    assert inventory.json() == {"message": "Insufficient scope", "code": "RBAC"}


# -- headers ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", API_PATHS)
async def test_every_api_answer_carries_the_rate_limit_headers(
    gateway: Gateway, pair: TokenPair, path: str
) -> None:
    reply = await gateway.get(path, pair.access_token)

    assert reply.status == 200
    assert [reply.headers[name] for name in RATE_HEADERS] == ["7", "6", "5000", "4999"]
    assert set(RATE_HEADERS) <= {str(name) for name in reply.headers}  # exact spelling


async def test_a_400_for_bad_parameters_still_counts_and_carries_headers(
    gateway: Gateway, pair: TokenPair
) -> None:
    reply = await gateway.get(SITES, pair.access_token, {"limit": "nope"})

    assert reply.status == 400
    assert reply.headers["X-RateLimit-Remaining-day"] == "4999"


@pytest.mark.parametrize(
    ("path", "token"),
    [
        pytest.param(SITES, "valid", id="an API answer"),
        pytest.param(SITES, None, id="a 401"),
        pytest.param("/_fake/clock", None, id="the control API"),
    ],
)
async def test_the_date_header_reads_the_fake_clock(
    gateway: Gateway, clock: FakeClock, pair: TokenPair, path: str, token: str | None
) -> None:
    clock.set(datetime(2027, 3, 9, 23, 59, 58, 700_000, tzinfo=UTC))

    reply = await gateway.get(path, pair.access_token if token else None)

    assert reply.headers["Date"] == "Tue, 09 Mar 2027 23:59:58 GMT"


# -- 429 -------------------------------------------------------------------------------


async def test_the_eighth_call_in_one_second_is_refused_and_not_counted(
    gateway: Gateway, fake: FakeCentral, pair: TokenPair
) -> None:
    for _ in range(7):
        await gateway.get(SITES, pair.access_token)

    refused = await gateway.get(SITES, pair.access_token)
    again = await gateway.get(SITES, pair.access_token)

    assert refused.status == 429
    assert refused.json() == {"message": "API rate limit exceeded"}
    assert refused.headers["X-RateLimit-Remaining-second"] == "0"
    assert refused.headers["X-RateLimit-Remaining-day"] == "4993"
    assert again.headers["X-RateLimit-Remaining-day"] == "4993"
    assert "Retry-After" not in refused.headers
    assert (fake.journal[-1].outcome, fake.journal[-1].detail) == (
        "rate_limited",
        "second",
    )


async def test_the_next_second_window_opens_a_fresh_budget(
    gateway: Gateway, clock: FakeClock, pair: TokenPair
) -> None:
    for _ in range(8):
        await gateway.get(SITES, pair.access_token)
    clock.advance(1)

    reply = await gateway.get(SITES, pair.access_token)

    assert reply.status == 200
    assert reply.headers["X-RateLimit-Remaining-second"] == "6"


async def test_windows_are_fixed_seconds_of_the_fake_clock(
    gateway: Gateway, clock: FakeClock, pair: TokenPair
) -> None:
    clock.advance(0.9)
    for _ in range(7):
        await gateway.get(SITES, pair.access_token)
    clock.advance(0.1)

    reply = await gateway.get(SITES, pair.access_token)

    assert reply.status == 200


async def test_the_daily_budget_resets_at_midnight_utc(
    gateway: Gateway, fake: FakeCentral, clock: FakeClock, pair: TokenPair
) -> None:
    fake.configure(per_day_limit=3, retry_after_header=True)
    clock.set(datetime(2026, 1, 5, 23, 59, 58, tzinfo=UTC))
    token = fake.mint(fake.create_app().client_id).access_token
    for _ in range(3):
        await gateway.get(SITES, token)

    spent = await gateway.get(SITES, token)
    clock.advance(1.5)
    still_spent = await gateway.get(SITES, token)
    clock.advance(0.5)
    after_midnight = await gateway.get(SITES, token)

    assert spent.status == 429
    assert spent.headers["X-RateLimit-Remaining-day"] == "0"
    assert spent.headers["Retry-After"] == "2"
    assert still_spent.status == 429
    assert after_midnight.status == 200
    assert after_midnight.headers["X-RateLimit-Remaining-day"] == "2"
    assert fake.journal[-2].detail == "day"


async def test_retry_after_for_the_second_window_is_one_second(
    gateway: Gateway, fake: FakeCentral, pair: TokenPair
) -> None:
    fake.configure(retry_after_header=True)
    for _ in range(7):
        await gateway.get(SITES, pair.access_token)

    reply = await gateway.get(SITES, pair.access_token)

    assert reply.headers["Retry-After"] == "1"


async def test_budgets_are_per_client_by_default_and_per_customer_when_configured(
    gateway: Gateway, fake: FakeCentral, app_info: AppInfo, pair: TokenPair
) -> None:
    sibling = fake.create_app(customer_id=app_info.customer_id)
    sibling_token = fake.mint(sibling.client_id).access_token
    for _ in range(7):
        await gateway.get(SITES, pair.access_token)
    per_client = await gateway.get(SITES, sibling_token)

    fake.configure(rate_limit_scope="customer")
    fake.limiter.reset()
    for _ in range(7):
        await gateway.get(SITES, pair.access_token)
    per_customer = await gateway.get(SITES, sibling_token)

    assert per_client.status == 200
    assert per_customer.status == 429


async def test_rate_limiting_can_be_switched_off(
    gateway: Gateway, fake: FakeCentral, pair: TokenPair
) -> None:
    fake.configure(rate_limit_enabled=False)

    replies = [await gateway.get(SITES, pair.access_token) for _ in range(20)]

    assert {reply.status for reply in replies} == {200}
    assert replies[-1].headers["X-RateLimit-Limit-second"] == "7"
    assert replies[-1].headers["X-RateLimit-Remaining-second"] == "7"
    assert replies[-1].headers["X-RateLimit-Remaining-day"] == "5000"


async def test_a_rejected_token_spends_no_budget(
    gateway: Gateway, fake: FakeCentral, app_info: AppInfo, pair: TokenPair
) -> None:
    for _ in range(10):
        await gateway.get(SITES, "not-a-token")

    reply = await gateway.get(SITES, pair.access_token)

    assert reply.status == 200
    assert reply.headers["X-RateLimit-Remaining-second"] == "6"
