"""The control API under /_fake/: setting the fake up and looking inside."""

from __future__ import annotations

import pytest
from fake_helpers import SITES, Gateway

from fake_central import CLUSTERS, AppInfo, FakeCentral, TokenPair


async def test_health_reports_ok_and_the_fake_time(gateway: Gateway) -> None:
    reply = await gateway.control("GET", "/health")

    assert reply.json() == {
        "status": "ok",
        "time": "2026-01-05T12:00:00+00:00",
        "frozen": True,
    }


async def test_an_app_created_over_http_can_mint_and_read(gateway: Gateway) -> None:
    created = await gateway.control("POST", "/apps", {"cluster": "China-1"})
    app = created.json()
    minted = await gateway.control("POST", f"/apps/{app['client_id']}/tokens")

    reply = await gateway.get(SITES, minted.json()["access_token"], cluster="China-1")

    assert created.status == 200
    assert set(app) == {
        "client_id", "client_secret", "customer_id", "cluster", "gateway_url", "app_type",
    }  # fmt: skip
    assert app["gateway_url"] == f"https://{CLUSTERS['China-1']}"
    assert app["app_type"] == "network_operations"
    assert reply.status == 200


async def test_an_app_defaults_to_the_default_cluster(
    gateway: Gateway, fake: FakeCentral
) -> None:
    fake.configure(default_cluster="APAC-1")

    reply = await gateway.control("POST", "/apps")

    assert reply.json()["cluster"] == "APAC-1"


async def test_apps_are_listed_without_their_secrets(
    gateway: Gateway, app_info: AppInfo
) -> None:
    reply = await gateway.control("GET", "/apps")

    assert reply.json()["apps"][0]["client_id"] == app_info.client_id
    assert app_info.client_secret not in reply.text


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        pytest.param(
            {"cluster": "Mars-1"}, 400, "unknown cluster 'Mars-1'", id="unknown cluster"
        ),
        pytest.param(
            {"app_type": "admin"},
            400,
            "unknown app type 'admin'",
            id="unknown app type",
        ),
        pytest.param({"cluster": 7}, 422, "cluster", id="cluster not a string"),
        pytest.param({"customer_id": ""}, 422, "customer_id", id="empty customer"),
    ],
)
async def test_bad_app_requests_say_what_is_wrong(
    gateway: Gateway, body: dict[str, object], status: int, needle: str
) -> None:
    reply = await gateway.control("POST", "/apps", body)

    assert reply.status == status
    assert needle in reply.json()["message"]


async def test_the_clock_can_be_set_advanced_and_frozen(gateway: Gateway) -> None:
    set_to = await gateway.control("POST", "/clock", {"set": "2026-03-01T00:00:00Z"})
    advanced = await gateway.control("POST", "/clock", {"advance": 90.5})
    running = await gateway.control("POST", "/clock", {"freeze": False})
    frozen = await gateway.control("POST", "/clock", {"freeze": True})

    assert set_to.json() == {"time": "2026-03-01T00:00:00+00:00", "frozen": True}
    assert advanced.json()["time"] == "2026-03-01T00:01:30.500000+00:00"
    assert running.json()["frozen"] is False
    assert frozen.json()["frozen"] is True


async def test_inventory_is_loaded_over_http_deterministically(
    gateway: Gateway, fake: FakeCentral, app_info: AppInfo
) -> None:
    body = {"customer_id": app_info.customer_id, "sites": 12, "devices": 90, "seed": 4}

    reply = await gateway.control("POST", "/inventory", body)

    assert reply.json()["sites"] == 12
    assert reply.json()["devices"] == 90
    again = FakeCentral()
    twin = again.create_app(customer_id=app_info.customer_id)
    assert again.load_inventory(twin.customer_id, 12, 90, seed=4).sites == (
        fake.tenant(app_info.customer_id).sites
    )


async def test_inventory_for_an_unknown_customer_is_not_found(gateway: Gateway) -> None:
    reply = await gateway.control(
        "POST", "/inventory", {"customer_id": "nobody", "sites": 1, "devices": 1}
    )

    assert reply.status == 404
    assert "create an app for it first" in reply.json()["message"]


async def test_a_tenant_changes_between_pages_over_http(
    gateway: Gateway, app_info: AppInfo, pair: TokenPair
) -> None:
    await gateway.control(
        "POST",
        "/inventory",
        {"customer_id": app_info.customer_id, "sites": 10, "devices": 20},
    )

    changed = await gateway.control(
        "POST",
        f"/tenants/{app_info.customer_id}",
        {
            "add_sites": 3,
            "remove_sites": 1,
            "add_devices": 5,
            "device_kind": "switches",
        },
    )
    page = await gateway.get(SITES, pair.access_token)

    assert changed.json()["sites"] == 12
    assert changed.json()["devices"] == 25
    assert page.json()["total"] == 12


async def test_the_config_takes_partial_updates_and_refuses_unknown_names(
    gateway: Gateway, fake: FakeCentral
) -> None:
    updated = await gateway.control("POST", "/config", {"rate_limit_enabled": False})
    refused = await gateway.control("POST", "/config", {"rate_limit_enabld": False})
    wrong_type = await gateway.control("POST", "/config", {"per_second_limit": "many"})
    shown = await gateway.control("GET", "/config")

    assert updated.json()["rate_limit_enabled"] is False
    assert fake.config.rate_limit_enabled is False
    assert refused.status == 422
    assert refused.json()["fields"][0]["field"] == "rate_limit_enabld"
    assert wrong_type.status == 422
    assert wrong_type.json()["fields"][0]["field"] == "per_second_limit"
    assert shown.json()["per_second_limit"] == 7


async def test_reset_forgets_apps_tokens_and_faults_but_keeps_the_clock(
    gateway: Gateway, fake: FakeCentral, pair: TokenPair
) -> None:
    fake.arm_fault({"action": {"kind": "drop"}})
    fake.clock.advance(60)
    fake.configure(per_second_limit=1)

    reply = await gateway.control("POST", "/reset")
    after = await gateway.get(SITES, pair.access_token)

    assert reply.json() == {"status": "reset", "time": "2026-01-05T12:01:00+00:00"}
    assert after.status == 401
    assert fake.tokens.apps() == []
    assert fake.config.per_second_limit == 7


def test_reset_in_python_clears_the_journal(
    fake: FakeCentral, app_info: AppInfo
) -> None:
    fake.mint(app_info.client_id)

    fake.reset()

    assert fake.journal == []
    assert fake.refresh_count() == 0


def test_demo_returns_exactly_the_five_integration_values(fake: FakeCentral) -> None:
    credentials = fake.demo(seed=3)

    assert set(credentials) == {
        "gateway_url", "client_id", "client_secret", "access_token", "refresh_token",
    }  # fmt: skip
    assert credentials["gateway_url"] == "https://apigw-prod2.central.arubanetworks.com"
    customer = fake.tokens.app(credentials["client_id"]).customer_id
    assert 24 <= len(fake.tenant(customer).sites) <= 60
    assert 200 <= len(fake.tenant(customer).devices) <= 600


def test_the_demo_tenant_is_the_same_for_the_same_seed() -> None:
    first, second = FakeCentral(), FakeCentral()
    one = first.tokens.app(first.demo(seed=5)["client_id"]).customer_id
    two = second.tokens.app(second.demo(seed=5)["client_id"]).customer_id

    assert one == two
    assert first.tenant(one).sites == second.tenant(two).sites
