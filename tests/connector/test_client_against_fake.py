"""The client against the fake gateway, over TLS with real hostname checks.

Every test here goes through the production code path: the client dials the real
cluster hostname at the fake's loopback port (``connect_to``), verifies the
certificate for that hostname against the fake's CA, and the fake routes by the
Host header. Time is the fake's frozen clock, moved by the client's sleeps.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
from connector_helpers import START, ClientFactory, FakeTime

from connector import Credentials, MemoryTokenStore
from connector.errors import (
    APP_TYPE_HINT,
    CentralConnectionError,
    DailyBudgetExhausted,
    MalformedResponse,
    PermissionDenied,
    RateLimited,
    ReadOnlyViolation,
    RefreshTokenRejected,
    TokenStoreError,
    UpstreamError,
)
from fake_central import AppInfo, FakeCentral, FakeClock, Tenant

pytestmark = pytest.mark.usefixtures("tenant")

SITES = "/central/v2/sites"
INVENTORY = "/platform/device_inventory/v1/devices"
TOKEN = "/oauth2/token"
LIMITED = {
    "kind": "status",
    "status": 429,
    "body": {"message": "API rate limit exceeded"},
}


def token_posts(fake: FakeCentral) -> list[Any]:
    return [entry for entry in fake.journal if entry.path == TOKEN]


def api_calls(fake: FakeCentral, path: str = SITES) -> list[Any]:
    return [entry for entry in fake.journal if entry.path == path]


def arm(fake: FakeCentral, path: str, action: dict[str, Any], **when: int) -> None:
    spec: dict[str, Any] = {"match": {"path": path}, "action": action}
    if when:
        spec["when"] = when
    fake.arm_fault(spec)


# --- reading ---------------------------------------------------------------------


async def test_sites_inventory_and_monitoring_read_over_verified_tls(
    make_client: ClientFactory, tenant: Tenant, fake: FakeCentral
) -> None:
    async with make_client() as client:
        sites = await client.list_sites(offset=0, limit=1000)
        inventory = await client.list_inventory(offset=0, limit=1000)
        aps = await client.list_monitoring("aps", offset=0, limit=1000)
        switches = await client.list_monitoring("switches", offset=0, limit=1000)

    assert sites.total == len(tenant.sites) == len(sites.sites)
    assert {s.site_id for s in sites.sites} == {s["site_id"] for s in tenant.sites}
    assert inventory.total == len(tenant.devices)
    assert {d.serial for d in aps.items} == {
        d["serial"] for d in tenant.monitoring["aps"]
    }
    assert switches.kind == "switches"
    assert {entry.cluster for entry in fake.journal} == {"US-2"}


async def test_inventory_records_hold_the_same_devices_as_the_models(
    make_client: ClientFactory,
) -> None:
    async with make_client() as client:
        models = await client.list_inventory(offset=0, limit=1000)
        records = await client.list_inventory_records(offset=0, limit=1000)

    assert records["total"] == models.total
    assert records["devices"] == [
        {
            "serial": d.serial,
            "macaddr": d.macaddr,
            "model": d.model,
            "device_type": d.device_type,
            "aruba_part_no": d.aruba_part_no,
            "customer_id": d.customer_id,
        }
        for d in models.devices
    ]


async def test_get_json_returns_the_json_object(make_client: ClientFactory) -> None:
    async with make_client() as client:
        payload = await client.get_json(SITES, {"offset": 0, "limit": 2})

    assert set(payload) >= {"sites", "count"}
    assert payload["count"] == 2


async def test_the_certificate_must_verify_for_the_gateway_hostname(
    make_client: ClientFactory, creds: Credentials, fake: FakeCentral
) -> None:
    # Under the allowed suffix, but not a name on the fake's certificate.
    stranger = creds.model_copy(
        update={"gateway_url": "https://apigw-notacluster.central.arubanetworks.com"}
    )

    async with make_client(stranger) as client:
        with pytest.raises(CentralConnectionError, match="TLS verification") as caught:
            await client.list_sites()

    assert caught.value.__cause__ is not None
    assert fake.journal == []


async def test_without_the_fakes_ca_the_system_trust_store_refuses_it(
    make_client: ClientFactory, fake: FakeCentral
) -> None:
    async with make_client(ca_file=None) as client:
        with pytest.raises(CentralConnectionError, match="TLS verification"):
            await client.list_sites()

    assert fake.journal == []


async def test_an_unreachable_gateway_is_retried_then_reported(
    make_client: ClientFactory, fake_time: FakeTime
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]

    async with make_client(
        connect_to=("127.0.0.1", closed_port), max_retries=2
    ) as client:
        with pytest.raises(CentralConnectionError, match="could not connect") as caught:
            await client.list_sites()
        stats = client.stats

    assert stats.retries == 2
    assert len(fake_time.sleeps) == 2
    assert caught.value.method == "GET"
    assert str(caught.value.url).startswith(
        "https://apigw-prod2.central.arubanetworks.com/central/v2/sites"
    )


# --- refresh ---------------------------------------------------------------------


async def test_a_401_refreshes_once_and_replays(
    make_client: ClientFactory, fake: FakeCentral, clock: FakeClock
) -> None:
    clock.advance(7201)  # the pasted access token expires; its expiry is unknown

    async with make_client() as client:
        page = await client.list_sites()
        stats = client.stats

    statuses = [(e.path, e.status, e.token_state) for e in fake.journal]
    assert statuses == [
        (SITES, 401, "expired"),
        (TOKEN, 200, None),
        (SITES, 200, "ok"),
    ]
    assert page.total > 0
    assert (stats.refreshes, stats.unauthorized) == (1, 1)


async def test_refresh_parameters_travel_in_the_body_not_the_url(
    make_client: ClientFactory, fake: FakeCentral, clock: FakeClock
) -> None:
    clock.advance(7201)

    async with make_client() as client:
        await client.list_sites()

    (post,) = token_posts(fake)
    assert post.method == "POST"
    assert post.query == {}
    assert post.grant == "refresh_token"
    assert post.outcome == "rotated"


async def test_a_known_expiry_is_refreshed_ahead_without_meeting_unauthorized(
    make_client: ClientFactory, fake: FakeCentral, clock: FakeClock
) -> None:
    async with make_client() as client:
        await client.refresh_tokens()
        clock.advance(7200 - 120)
        await client.list_sites()

    assert [e.status for e in fake.journal] == [200, 200, 200]
    assert fake.refresh_count() == 2
    assert all(e.status != 401 for e in fake.journal)


async def test_a_thousand_concurrent_gets_with_an_expired_token_refresh_once(
    make_client: ClientFactory,
    fake: FakeCentral,
    app_info: AppInfo,
    clock: FakeClock,
) -> None:
    fake.configure(rate_limit_enabled=False)
    clock.advance(7201)

    async with make_client(per_second_limit=None, rate_per_second=100_000.0) as client:
        pages = await asyncio.gather(*(client.list_sites(limit=1) for _ in range(1000)))

    assert len(pages) == 1000
    assert fake.refresh_count(app_info.client_id) == 1
    assert len(token_posts(fake)) == 1


# --- keep-alive ------------------------------------------------------------------


async def test_keep_alive_rotates_a_pasted_pair_at_once(
    make_client: ClientFactory, fake: FakeCentral, clock: FakeClock
) -> None:
    async with make_client() as client:
        result = await client.keep_alive()

    assert result.rotated
    assert result.last_rotation == clock.now()
    assert result.next_due == clock.now() + timedelta(days=12)
    assert [post.outcome for post in token_posts(fake)] == ["rotated"]


async def test_keep_alive_sends_nothing_until_the_pair_is_due(
    make_client: ClientFactory, fake: FakeCentral, clock: FakeClock
) -> None:
    async with make_client() as client:
        await client.keep_alive()
    clock.advance(timedelta(days=11, hours=23).total_seconds())

    async with make_client() as later:  # the next day's run, from the store
        result = await later.keep_alive()

    assert not result.rotated
    assert len(token_posts(fake)) == 1
    assert result.next_due - clock.now() == timedelta(hours=1)


async def test_keep_alive_outlives_the_refresh_token_lifetime_of_an_idle_tenant(
    make_client: ClientFactory, fake: FakeCentral, clock: FakeClock
) -> None:
    # Five runs twelve days apart span 48 days; each pair would die after 15.
    for _ in range(5):
        async with make_client() as client:
            assert (await client.keep_alive()).rotated
        clock.advance(timedelta(days=12).total_seconds())

    async with make_client() as client:
        page = await client.list_sites()

    assert page.total > 0
    assert [post.outcome for post in token_posts(fake)] == ["rotated"] * 6


async def test_keep_alive_takes_a_pair_another_process_just_rotated(
    make_client: ClientFactory, fake: FakeCentral, clock: FakeClock
) -> None:
    async with make_client() as first, make_client() as second:
        await first.list_sites()  # both start from the pasted pair
        await second.list_sites()
        await first.keep_alive()

        result = await second.keep_alive()

    assert not result.rotated
    assert len(token_posts(fake)) == 1


@pytest.mark.parametrize("days", [0, -1, 14, 30])
async def test_keep_alive_refuses_an_age_that_would_let_the_pair_lapse(
    make_client: ClientFactory, fake: FakeCentral, days: int
) -> None:
    async with make_client() as client:
        with pytest.raises(ValueError, match="less than 14 days"):
            await client.keep_alive(timedelta(days=days))

    assert fake.journal == []


async def test_a_rejected_refresh_token_stops_the_client_with_advice(
    make_client: ClientFactory, creds: Credentials, fake: FakeCentral
) -> None:
    # Someone else refreshes the same pair first: ours is rotated away.
    async with make_client(store=MemoryTokenStore()) as other:
        await other.refresh_tokens()

    async with make_client(store=MemoryTokenStore()) as client:
        with pytest.raises(RefreshTokenRejected, match="View Tokens") as caught:
            await client.list_sites()
        sent = len(fake.journal)
        with pytest.raises(RefreshTokenRejected):
            await asyncio.gather(*(client.list_sites() for _ in range(20)))

    assert "Invalid refresh_token" in str(caught.value)
    assert len(fake.journal) == sent, "no request after the dead end"
    assert [e.outcome for e in token_posts(fake)] == [
        "rotated",
        "invalid_refresh_token",
    ]


@pytest.mark.parametrize(
    "action",
    [{"kind": "lose_token_response"}, {"kind": "lose_token_response", "status": 502}],
    ids=["dropped", "answered-502"],
)
async def test_a_lost_refresh_answer_is_retried_once_then_reported(
    make_client: ClientFactory, fake: FakeCentral, action: dict[str, Any]
) -> None:
    arm(fake, TOKEN, action, next=1)

    async with make_client() as client:
        with pytest.raises(RefreshTokenRejected, match="lost") as caught:
            await client.refresh_tokens()

    assert "View Tokens" in str(caught.value)
    assert [e.outcome for e in token_posts(fake)] == [
        "rotated",
        "invalid_refresh_token",
    ]


async def test_a_lost_answer_before_rotation_recovers_on_the_one_retry(
    make_client: ClientFactory, fake: FakeCentral
) -> None:
    arm(fake, TOKEN, {"kind": "drop"}, next=1)

    async with make_client() as client:
        await client.refresh_tokens()
        page = await client.list_sites()

    assert page.total > 0
    assert [e.outcome for e in token_posts(fake)][-1] == "rotated"


# --- permission, pacing, retries ---------------------------------------------------


async def test_403_says_which_application_to_create_the_client_for(
    make_client: ClientFactory, fake: FakeCentral
) -> None:
    app = fake.create_app(cluster="US-2", app_type="account_home")
    pair = fake.mint(app.client_id)
    fake.load_inventory(app.customer_id, sites=3, devices=5, seed=2)
    creds = Credentials(
        gateway_url=app.gateway_url,
        client_id=app.client_id,
        client_secret=app.client_secret,
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
    )

    async with make_client(creds) as client:
        inventory = await client.list_inventory()
        with pytest.raises(PermissionDenied) as caught:
            await client.list_sites()

    assert inventory.total == 5
    assert APP_TYPE_HINT in str(caught.value)
    assert '"Network Operations"' in str(caught.value)
    assert "Permission denied" in str(caught.value)


async def test_normal_running_is_never_rate_limited(
    make_client: ClientFactory, fake: FakeCentral, clock: FakeClock, fake_time: FakeTime
) -> None:
    started = clock.timestamp()

    async with make_client() as client:
        fake_time.settle = lambda: client.stats.requests == len(fake.journal)
        await asyncio.gather(*(client.list_sites(limit=1) for _ in range(70)))
        stats = client.stats

    statuses = {e.status for e in fake.journal}
    assert statuses == {200}
    assert stats.rate_limited == 0
    assert 9.0 < clock.timestamp() - started < 11.0


async def test_a_429_is_backed_off_for_everyone_then_retried(
    make_client: ClientFactory, fake: FakeCentral, fake_time: FakeTime
) -> None:
    fake.configure(per_second_limit=2)

    async with make_client(per_second_limit=None, rate_per_second=50.0) as client:
        pages = await asyncio.gather(*(client.list_sites(limit=1) for _ in range(6)))
        stats = client.stats

    assert len(pages) == 6
    assert stats.rate_limited >= 1
    assert max(fake_time.sleeps) >= 1.0
    assert [e.status for e in fake.journal].count(200) == 6


async def test_retry_after_is_honoured(
    make_client: ClientFactory, fake: FakeCentral, fake_time: FakeTime
) -> None:
    headers = {"Retry-After": "4", "X-RateLimit-Remaining-second": "0"}
    arm(fake, SITES, {**LIMITED, "headers": headers}, next=1)

    async with make_client() as client:
        await client.list_sites()

    assert sum(fake_time.sleeps) >= 4.0


async def test_429s_that_never_stop_raise_rate_limited(
    make_client: ClientFactory, fake: FakeCentral
) -> None:
    arm(fake, SITES, LIMITED)

    async with make_client(max_retries=2) as client:
        with pytest.raises(RateLimited, match="another integration") as caught:
            await client.list_sites()

    assert len(api_calls(fake)) == 3
    assert caught.value.retry_after is not None


async def test_a_spent_daily_budget_raises_before_any_further_request(
    make_client: ClientFactory, fake: FakeCentral
) -> None:
    fake.configure(per_day_limit=3)

    async with make_client() as client:
        for _ in range(3):
            await client.list_sites(limit=1)
        with pytest.raises(DailyBudgetExhausted) as caught:
            await client.list_sites(limit=1)

    assert len(fake.journal) == 3
    assert caught.value.reset_at.isoformat() == "2026-01-06T00:00:00+00:00"
    assert "another integration" in str(caught.value)


@pytest.mark.parametrize(
    "action",
    [
        {
            "kind": "status",
            "status": 503,
            "body": {"message": "An unexpected error occurred"},
        },
        {"kind": "plain_text", "status": 503},
        {"kind": "status", "status": 500, "body": "<html>oops</html>"},
    ],
    ids=["json-503", "plain-text-503", "html-500"],
)
async def test_transient_failures_of_a_get_are_retried_with_backoff(
    make_client: ClientFactory,
    fake: FakeCentral,
    fake_time: FakeTime,
    action: dict[str, Any],
) -> None:
    arm(fake, SITES, action, next=2)

    async with make_client() as client:
        page = await client.list_sites()
        stats = client.stats

    assert page.total > 0
    assert stats.retries == 2
    assert len(fake_time.sleeps) == 2
    assert fake_time.sleeps[1] > fake_time.sleeps[0]


async def test_a_dropped_connection_of_a_get_is_retried(
    make_client: ClientFactory, fake: FakeCentral
) -> None:
    # aiohttp itself resends an idempotent request once when the connection
    # drops (RFC 9112 9.3.1), so two drops cost the client one retry.
    arm(fake, SITES, {"kind": "drop"}, next=2)

    async with make_client() as client:
        page = await client.list_sites()
        stats = client.stats

    assert page.total > 0
    assert stats.retries == 1
    assert [e.status for e in api_calls(fake)] == [0, 0, 200]


async def test_a_failure_that_outlasts_the_retries_says_what_central_said(
    make_client: ClientFactory, fake: FakeCentral
) -> None:
    arm(fake, SITES, {"kind": "plain_text", "status": 503})

    async with make_client(max_retries=1) as client:
        with pytest.raises(UpstreamError) as caught:
            await client.list_sites()

    assert caught.value.status == 503
    assert "upstream connect error" in str(caught.value)
    assert "after 2 attempts" in str(caught.value)
    assert len(api_calls(fake)) == 2


async def test_a_redirect_is_not_followed(
    make_client: ClientFactory, fake: FakeCentral
) -> None:
    location = {"Location": "https://evil.test/steal"}
    arm(fake, SITES, {"kind": "status", "status": 302, "headers": location}, next=1)

    async with make_client() as client:
        with pytest.raises(UpstreamError, match="not followed"):
            await client.list_sites()

    assert len(fake.journal) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"count": 1, "sites": [{"site_name": "x"}], "total": 1}, "sites[0].site_id"),
        ("<html>maintenance</html>", None),
    ],
    ids=["missing-field", "not-json"],
)
async def test_a_malformed_answer_names_endpoint_and_field(
    make_client: ClientFactory, fake: FakeCentral, body: Any, field: str | None
) -> None:
    arm(fake, SITES, {"kind": "status", "status": 200, "body": body}, next=1)

    async with make_client() as client:
        with pytest.raises(MalformedResponse) as caught:
            await client.list_sites()

    assert caught.value.endpoint == SITES
    assert caught.value.field == field
    assert "maintenance" not in str(caught.value)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"devices": [{"serial": "CNABC12345", "model": "maintenance"}], "total": 1},
            "devices[0].macaddr",
        ),
        ({"devices": [{"serial": 7}], "total": 1}, "devices[0].serial"),
        ("<html>maintenance</html>", None),
        (["maintenance"], None),
    ],
    ids=["missing-field", "wrong-type", "not-json", "not-an-object"],
)
async def test_a_malformed_inventory_page_fails_the_records_read_as_the_models_read(
    make_client: ClientFactory, fake: FakeCentral, body: Any, field: str | None
) -> None:
    arm(fake, INVENTORY, {"kind": "status", "status": 200, "body": body}, next=2)

    async with make_client() as client:
        with pytest.raises(MalformedResponse) as as_models:
            await client.list_inventory()
        with pytest.raises(MalformedResponse) as as_records:
            await client.list_inventory_records()

    for caught in (as_models, as_records):
        assert caught.value.endpoint == INVENTORY
        assert caught.value.field == field
        assert "maintenance" not in str(caught.value)
        assert "CNABC12345" not in str(caught.value)
    assert str(as_records.value) == str(as_models.value)


# --- read-only -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/central/v2/sites/1"),
        ("POST", "/central/v2/sites"),
        ("PUT", "/central/v2/sites/1"),
        ("PATCH", SITES),
        ("POST", TOKEN),
        ("HEAD", SITES),
    ],
)
async def test_only_gets_leave_the_client(
    make_client: ClientFactory, fake: FakeCentral, method: str, path: str
) -> None:
    async with make_client() as client:
        with pytest.raises(ReadOnlyViolation, match="read-only"):
            await client.request(method, path)

    assert fake.journal == []


async def test_the_transport_refuses_a_post_that_is_not_the_refresh(
    make_client: ClientFactory, fake: FakeCentral
) -> None:
    from yarl import URL

    async with make_client() as client:
        await client.open()
        base = URL(client.gateway_url)
        refresh, password = {"grant_type": "refresh_token"}, {"grant_type": "password"}
        with pytest.raises(ReadOnlyViolation):
            await client._send("POST", base.with_path(SITES), "x", json_body=refresh)
        with pytest.raises(ReadOnlyViolation):
            await client._send("POST", base.with_path(TOKEN), "x", json_body=password)

    assert fake.journal == []


@pytest.mark.parametrize(
    "path",
    ["https://evil.test/x", "//evil.test/x", "central/v2/sites", "/a?b=1", "/a b"],
)
async def test_a_path_cannot_point_the_client_elsewhere(
    make_client: ClientFactory, path: str
) -> None:
    async with make_client() as client:
        with pytest.raises(ValueError, match="path"):
            await client.get_json(path)


async def another_process(make: ClientFactory, calls: int, **options: Any) -> None:
    """``calls`` site reads at once by a client in its own event loop and thread.

    A loop of its own means a pacer of its own: as far as pacing goes, this is
    another process using the same client id.
    """

    async def run() -> None:
        async with make(**options) as client:
            await asyncio.gather(*(client.list_sites(limit=1) for _ in range(calls)))

    await asyncio.to_thread(asyncio.run, run())


async def test_a_fresh_client_learns_what_is_left_of_the_window_before_bursting(
    make_client: ClientFactory, fake: FakeCentral, clock: FakeClock
) -> None:
    await another_process(make_client, 5, store=MemoryTokenStore())

    async with make_client(store=MemoryTokenStore()) as client:
        await asyncio.gather(*(client.list_sites(limit=1) for _ in range(5)))
        stats = client.stats

    assert [entry.status for entry in fake.journal] == [200] * 10
    assert stats.rate_limited == 0
    assert clock.timestamp() - START.timestamp() >= 1.0


async def test_a_client_paces_on_from_the_calls_an_earlier_process_saved(
    make_client: ClientFactory, fake: FakeCentral, clock: FakeClock
) -> None:
    await another_process(make_client, 7)  # spends the whole window

    async with make_client() as client:  # the same token store
        await asyncio.gather(*(client.list_sites(limit=1) for _ in range(3)))
        stats = client.stats

    assert [entry.status for entry in fake.journal] == [200] * 10
    assert stats.rate_limited == 0
    assert clock.timestamp() - START.timestamp() >= 1.0


async def test_without_the_saved_calls_only_the_probe_meets_the_spent_window(
    make_client: ClientFactory, fake: FakeCentral
) -> None:
    await another_process(make_client, 7, store=MemoryTokenStore())

    async with make_client(store=MemoryTokenStore()) as client:
        await asyncio.gather(*(client.list_sites(limit=1) for _ in range(3)))
        stats = client.stats

    statuses = [entry.status for entry in fake.journal]
    assert statuses == [200] * 7 + [429] + [200] * 3
    assert stats.rate_limited == 1


async def test_recent_calls_that_cannot_be_saved_are_only_a_warning(
    make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    class StuckStore(MemoryTokenStore):
        def save_recent_calls(self, client_id: str, sent: Sequence[float]) -> None:
            raise TokenStoreError("token store 'stuck' is locked elsewhere")

    async with make_client(store=StuckStore()) as client:
        await client.list_sites()

    assert "could not save the recent calls" in caplog.text


async def test_clients_with_one_client_id_share_their_pacer(
    make_client: ClientFactory,
) -> None:
    async with make_client() as first, make_client() as second:
        assert first.pacer is not None
        assert first.pacer is second.pacer


def test_the_client_rejects_nonsensical_settings(creds: Credentials) -> None:
    from connector import CentralClient

    with pytest.raises(ValueError, match="connect_to"):
        CentralClient(creds, connect_to=("127.0.0.1", 0))
    with pytest.raises(ValueError, match="timeout"):
        CentralClient(creds, timeout=0)
