"""Regional clusters: the Host header picks one, and state never crosses over."""

from __future__ import annotations

import pytest
from fake_helpers import SITES, Gateway

from fake_central import CLUSTERS, AppInfo, FakeCentral, FakeConfig, TokenPair
from fake_central.clusters import ClusterResolver


def test_every_cluster_of_the_reference_is_known() -> None:
    assert CLUSTERS["China-1"] == "apigw.central.arubanetworks.com.cn"
    assert CLUSTERS["US-2"] == "apigw-prod2.central.arubanetworks.com"
    assert set(CLUSTERS) == {
        "US-1", "US-2", "US-East1", "US-West4", "US-West5", "EU-1", "EU-Central2",
        "EU-Central3", "Canada-1", "China-1", "APAC-1", "APAC-EAST1", "APAC-SOUTH1",
        "UAE-NORTH1", "Internal",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("host", "cluster"),
    [
        pytest.param("apigw-prod2.central.arubanetworks.com", "US-2", id="US-2"),
        pytest.param(
            "APIGW.central.arubanetworks.com.cn:443", "China-1", id="China-1 with port"
        ),
        pytest.param("eu-apigw.central.arubanetworks.com.", "EU-1", id="trailing dot"),
        pytest.param("127.0.0.1:8080", "US-East1", id="loopback v4"),
        pytest.param("[::1]:8080", "US-East1", id="loopback v6"),
        pytest.param("localhost", "US-East1", id="localhost"),
        pytest.param("", "US-East1", id="no host"),
        pytest.param("gateway.example.test", "unknown", id="unknown"),
    ],
)
def test_the_host_header_picks_the_cluster(host: str, cluster: str) -> None:
    resolver = ClusterResolver("US-East1", {})

    assert resolver.resolve(host) == cluster


async def test_a_token_from_one_cluster_is_invalid_in_another(
    gateway: Gateway, fake: FakeCentral, pair: TokenPair
) -> None:
    home = await gateway.get(SITES, pair.access_token, cluster="US-2")
    abroad = await gateway.get(SITES, pair.access_token, cluster="EU-1")

    assert home.status == 200
    assert abroad.status == 401
    assert abroad.json()["error"] == "invalid_token"
    assert fake.journal[-1].token_state == "wrong_cluster"
    assert fake.journal[-1].cluster == "EU-1"


async def test_a_refresh_sent_to_another_cluster_is_an_invalid_client(
    gateway: Gateway, app_info: AppInfo, pair: TokenPair
) -> None:
    reply = await gateway.refresh(app_info, pair.refresh_token, cluster="China-1")

    assert reply.status == 400
    assert reply.json()["error"] == "invalid_client"


async def test_loopback_requests_go_to_the_default_cluster(
    gateway: Gateway, fake: FakeCentral
) -> None:
    fake.configure(default_cluster="EU-Central3")
    app = fake.create_app(cluster="EU-Central3")
    pair = fake.mint(app.client_id)

    reply = await gateway.get(SITES, pair.access_token)

    assert reply.status == 200
    assert fake.journal[-1].cluster == "EU-Central3"


async def test_an_unknown_host_is_refused_with_the_known_clusters(
    gateway: Gateway, pair: TokenPair
) -> None:
    reply = await gateway.get(SITES, pair.access_token, host="apigw.example.test")

    body = reply.json()
    assert reply.status == 421
    assert "apigw.example.test" in body["message"]
    assert "China-1 (apigw.central.arubanetworks.com.cn)" in body["message"]
    assert body["clusters"] == dict(CLUSTERS)


async def test_host_aliases_route_test_names_to_a_cluster(
    gateway: Gateway, fake: FakeCentral
) -> None:
    fake.configure(host_aliases={"central.example.test": "APAC-1"})
    app = fake.create_app(cluster="APAC-1")
    pair = fake.mint(app.client_id)

    reply = await gateway.get(SITES, pair.access_token, host="central.example.test")

    assert reply.status == 200


async def test_the_control_api_answers_on_any_host(gateway: Gateway) -> None:
    reply = await gateway.control("GET", "/health", host="anything.example.test")

    assert reply.status == 200
    assert reply.json()["status"] == "ok"


def test_a_customer_lives_in_one_cluster(fake: FakeCentral, app_info: AppInfo) -> None:
    with pytest.raises(ValueError, match="lives in cluster US-2"):
        fake.create_app(cluster="EU-1", customer_id=app_info.customer_id)


def test_cluster_names_are_matched_without_case(fake: FakeCentral) -> None:
    assert fake.create_app(cluster="china-1").gateway_url == (
        "https://apigw.central.arubanetworks.com.cn"
    )


def test_an_unknown_cluster_name_lists_the_known_ones(fake: FakeCentral) -> None:
    with pytest.raises(ValueError, match="known clusters: US-1, US-2"):
        fake.create_app(cluster="Mars-1")


def test_the_default_cluster_must_be_a_known_one() -> None:
    with pytest.raises(ValueError, match="unknown cluster 'Mars-1'"):
        FakeConfig(default_cluster="Mars-1")


async def test_budgets_are_kept_per_cluster_app(
    gateway: Gateway, fake: FakeCentral
) -> None:
    us = fake.create_app(cluster="US-2")
    eu = fake.create_app(cluster="EU-1")
    us_token = fake.mint(us.client_id).access_token
    eu_token = fake.mint(eu.client_id).access_token
    for _ in range(7):
        await gateway.get(SITES, us_token, cluster="US-2")

    us_reply = await gateway.get(SITES, us_token, cluster="US-2")
    eu_reply = await gateway.get(SITES, eu_token, cluster="EU-1")

    assert us_reply.status == 429
    assert eu_reply.status == 200
