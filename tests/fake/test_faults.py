"""Armed faults: each action, each schedule, matching, and the control API."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from fake_helpers import APS, SITES, SWITCHES, TOKEN, Gateway

from fake_central import AppInfo, FakeCentral, FakeClock, FaultSpec, TokenPair
from fake_central.testing import RunningFake

UPSTREAM_TEXT = "upstream connect error or disconnect/reset before headers"


async def _raw_get(running: RunningFake, path: str) -> bytes:
    """Send one GET on a bare socket and read until the server closes it."""
    reader, writer = await asyncio.open_connection(running.host, running.port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    await writer.drain()
    received = await reader.read()
    writer.close()
    await writer.wait_closed()
    return received


# -- actions ---------------------------------------------------------------------------


async def test_a_status_fault_answers_its_json_body_and_headers(
    gateway: Gateway, fake: FakeCentral, pair: TokenPair
) -> None:
    fault_id = fake.arm_fault(
        {
            "match": {"path": SITES},
            "when": {"next": 1},
            "action": {
                "kind": "status",
                "status": 503,
                "body": {"message": "Service unavailable"},
                "headers": {"X-Fault": "yes"},
            },
        }
    )

    faulted = await gateway.get(SITES, pair.access_token)
    normal = await gateway.get(SITES, pair.access_token)

    assert faulted.status == 503
    assert faulted.json() == {"message": "Service unavailable"}
    assert faulted.headers["X-Fault"] == "yes"
    assert normal.status == 200
    assert fake.journal[0].fault == f"{fault_id}:status"
    assert fake.journal[1].fault is None


async def test_a_status_fault_may_answer_text(
    gateway: Gateway, fake: FakeCentral
) -> None:
    fake.arm_fault({"action": {"kind": "status", "status": 500, "body": "boom"}})

    reply = await gateway.get(SITES)

    assert (reply.status, reply.text) == (500, "boom")


async def test_a_plain_text_fault_looks_like_an_upstream_proxy_error(
    gateway: Gateway, fake: FakeCentral, pair: TokenPair
) -> None:
    fake.arm_fault(
        {"when": {"next": 1}, "action": {"kind": "plain_text", "status": 503}}
    )

    reply = await gateway.get(SITES, pair.access_token)

    assert reply.status == 503
    assert reply.text == UPSTREAM_TEXT
    assert reply.headers["Content-Type"].startswith("text/plain")


async def test_a_delay_fault_waits_then_answers_normally(
    gateway: Gateway, fake: FakeCentral, pair: TokenPair
) -> None:
    waited: list[float] = []

    async def record(seconds: float) -> None:
        waited.append(seconds)

    fake.sleeper = record
    fake.arm_fault({"when": {"next": 1}, "action": {"kind": "delay", "seconds": 5}})

    reply = await gateway.get(SITES, pair.access_token)

    assert reply.status == 200
    assert waited == [5.0]
    assert fake.journal[-1].fault == "f1:delay"


async def test_a_real_delay_outlasts_a_short_client_timeout(
    gateway: Gateway, fake: FakeCentral, pair: TokenPair
) -> None:
    fake.arm_fault({"when": {"next": 1}, "action": {"kind": "delay", "seconds": 30}})

    with pytest.raises(TimeoutError):
        await gateway.get(
            SITES, pair.access_token, timeout=aiohttp.ClientTimeout(total=0.05)
        )


async def test_a_drop_fault_closes_the_connection_without_an_answer(
    running: RunningFake, fake: FakeCentral
) -> None:
    fake.arm_fault({"match": {"method": "GET"}, "action": {"kind": "drop"}})

    received = await _raw_get(running, SITES)

    assert received == b""
    assert (fake.journal[-1].status, fake.journal[-1].fault) == (0, "f1:drop")


async def test_a_lost_token_response_still_commits_the_rotation(
    gateway: Gateway, fake: FakeCentral, app_info: AppInfo, pair: TokenPair
) -> None:
    fake.arm_fault({"when": {"next": 1}, "action": {"kind": "lose_token_response"}})

    with pytest.raises(aiohttp.ServerDisconnectedError):
        await gateway.refresh(app_info, pair.refresh_token)
    retry = await gateway.refresh(app_info, pair.refresh_token)
    old_access = await gateway.get(SITES, pair.access_token)

    lost = fake.journal[0]
    assert (lost.status, lost.outcome, lost.fault) == (
        0,
        "rotated",
        "f1:lose_token_response",
    )
    assert fake.refresh_count(app_info.client_id) == 1
    assert retry.json()["error_description"] == "Invalid refresh_token"
    assert old_access.status == 401


async def test_a_lost_token_response_may_come_back_as_a_5xx(
    gateway: Gateway, fake: FakeCentral, app_info: AppInfo, pair: TokenPair
) -> None:
    fake.arm_fault({"action": {"kind": "lose_token_response", "status": 502}})

    reply = await gateway.refresh(app_info, pair.refresh_token)

    assert reply.status == 502
    assert fake.refresh_count(app_info.client_id) == 1


async def test_a_lost_token_fault_waits_for_a_refresh_that_commits(
    gateway: Gateway, fake: FakeCentral, app_info: AppInfo, pair: TokenPair
) -> None:
    fake.arm_fault({"when": {"next": 1}, "action": {"kind": "lose_token_response"}})

    refused = await gateway.refresh(app_info, "not-a-refresh-token")
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await gateway.refresh(app_info, pair.refresh_token)

    assert refused.status == 400
    assert fake.journal[0].fault is None
    assert fake.journal[1].fault == "f1:lose_token_response"


# -- schedules -------------------------------------------------------------------------


async def _statuses(
    gateway: Gateway, token: str, count: int, path: str = SITES
) -> list[int]:
    return [(await gateway.get(path, token)).status for _ in range(count)]


async def test_next_n_fires_on_the_next_n_matching_requests(
    gateway: Gateway, fake: FakeCentral, pair: TokenPair
) -> None:
    fake.arm_fault({"when": {"next": 2}, "action": {"kind": "status", "status": 502}})

    assert await _statuses(gateway, pair.access_token, 4) == [502, 502, 200, 200]


async def test_after_n_lets_n_pass_then_fires_count_times(
    gateway: Gateway, fake: FakeCentral, pair: TokenPair
) -> None:
    fake.arm_fault(
        {"when": {"after": 2, "count": 1}, "action": {"kind": "status", "status": 504}}
    )

    assert await _statuses(gateway, pair.access_token, 4) == [200, 200, 504, 200]


async def test_after_n_without_a_count_fires_until_cleared(
    gateway: Gateway, fake: FakeCentral, pair: TokenPair
) -> None:
    fake.arm_fault({"when": {"after": 1}, "action": {"kind": "status", "status": 500}})

    before = await _statuses(gateway, pair.access_token, 3)
    fake.clear_faults()
    after = await _statuses(gateway, pair.access_token, 1)

    assert before == [200, 500, 500]
    assert after == [200]


async def test_a_window_fault_fires_only_inside_its_fake_clock_window(
    gateway: Gateway, fake: FakeCentral, clock: FakeClock, pair: TokenPair
) -> None:
    start = clock.now() + timedelta(minutes=5)
    window = {
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=2)).isoformat(),
    }
    fake.arm_fault(
        {"when": {"window": window}, "action": {"kind": "status", "status": 503}}
    )

    before = await _statuses(gateway, pair.access_token, 1)
    clock.advance(300)
    inside = await _statuses(gateway, pair.access_token, 1)
    clock.advance(120)
    after = await _statuses(gateway, pair.access_token, 1)

    assert (before, inside, after) == ([200], [503], [200])


# -- matching --------------------------------------------------------------------------


async def test_a_path_ending_in_a_star_matches_by_prefix(
    gateway: Gateway, fake: FakeCentral, pair: TokenPair
) -> None:
    fake.arm_fault(
        {
            "match": {"path": "/monitoring/*"},
            "action": {"kind": "status", "status": 500},
        }
    )

    monitored = [
        (await gateway.get(path, pair.access_token)).status for path in (APS, SWITCHES)
    ]
    sites = await gateway.get(SITES, pair.access_token)

    assert monitored == [500, 500]
    assert sites.status == 200


async def test_faults_match_by_cluster_and_client_id(
    gateway: Gateway, fake: FakeCentral, app_info: AppInfo, pair: TokenPair
) -> None:
    other = fake.create_app(cluster="EU-1")
    other_token = fake.mint(other.client_id).access_token
    fake.arm_fault(
        {
            "match": {"cluster": "EU-1", "client_id": other.client_id, "method": "get"},
            "action": {"kind": "status", "status": 503},
        }
    )

    mine = await gateway.get(SITES, pair.access_token)
    theirs = await gateway.get(SITES, other_token, cluster="EU-1")

    assert (mine.status, theirs.status) == (200, 503)


async def test_a_token_endpoint_fault_matches_the_client_id_in_the_body(
    gateway: Gateway, fake: FakeCentral, app_info: AppInfo, pair: TokenPair
) -> None:
    fake.arm_fault(
        {
            "match": {"client_id": app_info.client_id, "path": TOKEN},
            "action": {
                "kind": "status",
                "status": 500,
                "body": {"message": "An unexpected error occurred"},
            },
        }
    )

    reply = await gateway.refresh(app_info, pair.refresh_token, style="json")

    assert reply.status == 500
    assert fake.refresh_count() == 0


async def test_a_faulted_request_spends_no_rate_limit_budget(
    gateway: Gateway, fake: FakeCentral, pair: TokenPair
) -> None:
    fake.arm_fault({"when": {"next": 10}, "action": {"kind": "status", "status": 503}})
    await _statuses(gateway, pair.access_token, 10)

    reply = await gateway.get(SITES, pair.access_token)

    assert reply.headers["X-RateLimit-Remaining-second"] == "6"


def test_the_first_armed_fault_wins_and_the_others_wait(fake: FakeCentral) -> None:
    first = fake.arm_fault(
        {"when": {"next": 1}, "action": {"kind": "status", "status": 500}}
    )
    second = fake.arm_fault(
        {"when": {"next": 1}, "action": {"kind": "status", "status": 502}}
    )

    picks = [fake.faults.pick(0.0, "US-2", None, "GET", SITES) for _ in range(3)]

    assert [fault.id if fault else None for fault in picks] == [first, second, None]


# -- over HTTP ---------------------------------------------------------------------------


async def test_faults_are_armed_listed_and_cleared_over_http(
    gateway: Gateway, pair: TokenPair
) -> None:
    spec = {"when": {"next": 1}, "action": {"kind": "status", "status": 503}}

    armed = await gateway.control("POST", "/faults", spec)
    await gateway.get(SITES, pair.access_token)
    listed = await gateway.control("GET", "/faults")
    removed = await gateway.control("DELETE", f"/faults/{armed.json()['id']}")
    missing = await gateway.control("DELETE", "/faults/f99")
    cleared = await gateway.control("DELETE", "/faults")

    assert armed.json() == {"id": "f1"}
    fault = listed.json()["faults"][0]
    assert (fault["seen"], fault["fired"], fault["active"]) == (1, 1, False)
    assert removed.json() == {"cleared": 1}
    assert missing.status == 404
    assert cleared.json() == {"cleared": 0}


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        pytest.param({"action": {"kind": "explode"}}, "action", id="unknown kind"),
        pytest.param({}, "action", id="no action"),
        pytest.param(
            {"when": {"next": 1, "after": 2}, "action": {"kind": "drop"}},
            "when",
            id="two schedules",
        ),
        pytest.param(
            {"when": {"next": 0}, "action": {"kind": "drop"}},
            "when.next",
            id="next zero",
        ),
        pytest.param(
            {"when": {"count": 2}, "action": {"kind": "drop"}},
            "when",
            id="count without after",
        ),
        pytest.param(
            {"action": {"kind": "status", "status": 999}},
            "action.status.status",
            id="bad status",
        ),
        pytest.param(
            {"match": {"path": SITES}, "action": {"kind": "lose_token_response"}},
            "(body)",
            id="lost token off the token path",
        ),
        pytest.param(
            {"match": {"verb": "GET"}, "action": {"kind": "drop"}},
            "match.verb",
            id="unknown field",
        ),
        pytest.param(
            {
                "when": {
                    "window": {
                        "start": "2026-01-05T12:00:00Z",
                        "end": "2026-01-05T11:00:00Z",
                    }
                },
                "action": {"kind": "drop"},
            },
            "when.window",
            id="window backwards",
        ),
        pytest.param(
            {
                "when": {
                    "window": {
                        "start": "2026-01-05T12:00:00",
                        "end": "2026-01-05T13:00:00",
                    }
                },
                "action": {"kind": "drop"},
            },
            "when.window.start",
            id="naive window",
        ),
    ],
)
async def test_a_bad_fault_spec_is_a_422_naming_the_field(
    gateway: Gateway, spec: dict[str, object], field: str
) -> None:
    reply = await gateway.control("POST", "/faults", spec)

    assert reply.status == 422
    fields = [item["field"] for item in reply.json()["fields"]]
    assert any(name.startswith(field) for name in fields), fields


def test_fault_specs_validate_in_python_too() -> None:
    spec = FaultSpec.model_validate(
        {"when": {"window": {"start": datetime(2026, 1, 5, tzinfo=UTC).isoformat(),
                             "end": datetime(2026, 1, 6, tzinfo=UTC).isoformat()}},
         "action": {"kind": "delay", "seconds": 1.5}}
    )  # fmt: skip

    assert spec.action.kind == "delay"
