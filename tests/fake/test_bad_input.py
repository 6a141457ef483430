"""Bad input never crashes the fake: every endpoint answers a clear 4xx."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fake_helpers import (
    API_PATHS,
    APS,
    GATEWAYS,
    INVENTORY,
    SITES,
    SWITCHES,
    TOKEN,
    Gateway,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fake_central import AppInfo, FakeCentral, Tenant, TokenPair

SERVICE = {
    SITES: "Configuration",
    INVENTORY: "Device Inventory",
    APS: "Monitoring",
    SWITCHES: "Monitoring",
    GATEWAYS: "Monitoring",
}
CONTROL_BODIES = [
    "/reset",
    "/config",
    "/clock",
    "/apps",
    "/apps/{client_id}/tokens",
    "/inventory",
    "/tenants/{customer_id}",
    "/faults",
]
HUGE = b"x" * (64 * 1024 + 1)


# -- query parameters --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        pytest.param(SITES, {"limit": "1001"}, "0002", id="sites limit above max"),
        pytest.param(SITES, {"limit": "0"}, "0002", id="sites limit zero"),
        pytest.param(SITES, {"limit": "-1"}, "0002", id="sites negative limit"),
        pytest.param(SITES, {"offset": "-5"}, "0002", id="sites negative offset"),
        pytest.param(SITES, {"limit": "ten"}, "0004", id="sites limit not a number"),
        pytest.param(SITES, {"limit": "1.5"}, "0004", id="sites limit fractional"),
        pytest.param(SITES, {"limit": "\uff11"}, "0004", id="sites fullwidth digit"),
        pytest.param(SITES, {"sort": "name"}, "0004", id="sites unknown sort"),
        pytest.param(
            SITES, {"calculate_total": "maybe"}, "0004", id="sites bad boolean"
        ),
        pytest.param(SITES, {"site_name": "HQ"}, "0004", id="sites unknown parameter"),
        pytest.param(
            SITES,
            [("limit", "5"), ("limit", "6")],
            "0003",
            id="sites conflicting repeat",
        ),
        pytest.param(
            INVENTORY, {"limit": "1001"}, "0002", id="inventory limit above max"
        ),
        pytest.param(
            INVENTORY, {"sku_type": "router"}, "0004", id="inventory unknown sku"
        ),
        pytest.param(
            INVENTORY, {"calculate_total": "true"}, "0004", id="inventory unknown param"
        ),
        pytest.param(APS, {"limit": "5000"}, "0002", id="aps limit above max"),
        pytest.param(APS, {"status": "sideways"}, "0004", id="aps bad status"),
        pytest.param(APS, {"sort": "-name"}, "0004", id="aps unknown sort"),
        pytest.param(
            SWITCHES, {"sort": "+swarm_id"}, "0004", id="switches ap-only sort"
        ),
        pytest.param(
            SWITCHES,
            {"show_resource_details": "yes"},
            "0004",
            id="switches bad boolean",
        ),
        pytest.param(GATEWAYS, {"swarm_id": "1"}, "0004", id="gateways ap-only filter"),
    ],
)
async def test_bad_query_parameters_get_centrals_error_shape(
    gateway: Gateway,
    pair: TokenPair,
    path: str,
    params: dict[str, str] | list[tuple[str, str]],
    code: str,
) -> None:
    reply = await gateway.get(path, pair.access_token, params)

    assert reply.status == 400
    body = reply.json()
    assert set(body) == {"description", "error_code", "service_name"}
    assert body["error_code"] == code
    assert body["service_name"] == SERVICE[path]


async def test_the_unknown_parameter_message_lists_what_is_accepted(
    gateway: Gateway, pair: TokenPair
) -> None:
    reply = await gateway.get(SITES, pair.access_token, {"page": "2"})

    assert reply.json()["description"] == (
        "unknown query parameter 'page'; this endpoint accepts: calculate_total, limit, "
        "offset, sort"
    )


async def test_unknown_parameters_may_be_ignored_instead(
    gateway: Gateway, fake: FakeCentral, pair: TokenPair
) -> None:
    fake.configure(reject_unknown_params=False)

    reply = await gateway.get(SITES, pair.access_token, {"page": "2"})

    assert reply.status == 200


async def test_a_parameter_repeated_with_the_same_value_is_accepted(
    gateway: Gateway, pair: TokenPair, tenant: Tenant
) -> None:
    reply = await gateway.get(
        SITES, pair.access_token, [("limit", "2"), ("limit", "2")]
    )

    assert reply.json()["count"] == 2


async def test_a_gigantic_offset_is_an_empty_page(
    gateway: Gateway, pair: TokenPair, tenant: Tenant
) -> None:
    reply = await gateway.get(SITES, pair.access_token, {"offset": "9" * 40})

    assert reply.status == 200
    assert reply.json()["sites"] == []


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    derandomize=True,
)
@given(
    path=st.sampled_from(API_PATHS),
    params=st.dictionaries(
        st.sampled_from(
            ["offset", "limit", "sort", "sku_type", "status", "site", "x", ""]
        ),
        st.text(max_size=12),
        max_size=4,
    ),
)
async def test_any_query_is_answered_or_refused_but_never_crashes(
    gateway: Gateway,
    fake: FakeCentral,
    pair: TokenPair,
    tenant: Tenant,
    path: str,
    params: dict[str, str],
) -> None:
    fake.configure(rate_limit_enabled=False)

    reply = await gateway.get(path, pair.access_token, params)

    assert reply.status in (200, 400), reply.text
    assert fake.server_errors == []


# -- methods and routes -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        pytest.param("POST", SITES, "GET", id="post sites"),
        pytest.param("DELETE", INVENTORY, "GET", id="delete inventory"),
        pytest.param("GET", TOKEN, "POST", id="get token"),
        pytest.param("PUT", "/_fake/clock", "GET, POST", id="put clock"),
    ],
)
async def test_a_wrong_method_is_a_405_naming_the_allowed_ones(
    gateway: Gateway, method: str, path: str, allow: str
) -> None:
    reply = await gateway.request(method, path)

    assert reply.status == 405
    assert reply.headers["Allow"] == allow


async def test_an_unknown_route_lists_what_the_fake_simulates(gateway: Gateway) -> None:
    reply = await gateway.get("/central/v1/sites")

    body = reply.json()
    assert reply.status == 404
    assert "does not simulate GET /central/v1/sites" in body["message"]
    assert "GET /central/v2/sites" in body["simulated"]
    assert "POST /_fake/faults" in body["control"]


async def test_an_unknown_control_route_lists_the_control_routes(
    gateway: Gateway,
) -> None:
    reply = await gateway.control("GET", "/nothing")

    assert reply.status == 404
    assert "GET /_fake/journal" in reply.json()["control"]


# -- bodies ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [*API_PATHS, TOKEN, "/_fake/apps", "/_fake/faults"])
async def test_a_huge_body_is_refused_on_every_endpoint(
    gateway: Gateway, path: str
) -> None:
    method = "GET" if path in API_PATHS else "POST"

    reply = await gateway.request(
        method, path, data=HUGE, headers={"Content-Type": "application/json"}
    )

    assert reply.status == 413
    assert reply.json()["error"] == "body_too_large"


async def test_a_huge_chunked_body_is_refused_too(gateway: Gateway) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(80):
            yield b"x" * 1024

    reply = await gateway.request(
        "POST",
        "/_fake/faults",
        data=chunks(),
        headers={"Content-Type": "application/json"},
    )

    assert reply.status == 413


@pytest.mark.parametrize(
    ("data", "content_type", "needle"),
    [
        pytest.param(
            b"{not json", "application/json", "malformed", id="malformed json"
        ),
        pytest.param(
            b"[1, 2]", "application/json", "must be an object", id="json array"
        ),
        pytest.param(b"\xff\xfe", "application/json", "malformed", id="not utf-8"),
        pytest.param(b"grant_type=x", "text/plain", "text/plain", id="plain text body"),
    ],
)
async def test_an_unreadable_token_request_is_an_invalid_request(
    gateway: Gateway, data: bytes, content_type: str, needle: str
) -> None:
    reply = await gateway.request(
        "POST", TOKEN, data=data, headers={"Content-Type": content_type}
    )

    assert reply.status == 400
    assert reply.json()["error"] == "invalid_request"
    assert needle in reply.json()["error_description"]


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        pytest.param(
            b'{"client_id": "x"}',
            "multipart/form-data",
            id="multipart without boundary",
        ),
        pytest.param(
            b"garbage", "multipart/form-data; boundary=zz", id="multipart without parts"
        ),
        pytest.param(
            b"\xff\xfe=%zz&&=", "application/x-www-form-urlencoded", id="form not utf-8"
        ),
    ],
)
async def test_a_malformed_form_token_request_is_an_invalid_request(
    gateway: Gateway, data: bytes, content_type: str
) -> None:
    reply = await gateway.request(
        "POST", TOKEN, params={"grant_type": "refresh_token"}, data=data,
        headers={"Content-Type": content_type},
    )  # fmt: skip

    assert reply.status == 400
    assert reply.json()["error"] == "invalid_request"
    assert "form body is malformed" in reply.json()["error_description"]


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    derandomize=True,
)
@given(
    content_type=st.sampled_from(
        [
            "application/json",
            "application/x-www-form-urlencoded",
            "multipart/form-data",
            "multipart/form-data; boundary=b",
            "text/plain",
            "application/json; charset=latin-1",
        ]
    ),
    body=st.binary(max_size=64),
)
async def test_any_token_request_body_is_answered_without_a_crash(
    gateway: Gateway, fake: FakeCentral, content_type: str, body: bytes
) -> None:
    reply = await gateway.request(
        "POST", TOKEN, data=body, headers={"Content-Type": content_type}
    )

    assert reply.status in (400, 401), reply.text
    assert fake.server_errors == []


@pytest.mark.parametrize(
    ("path", "name"),
    [
        pytest.param(SITES, "calculate_total", id="sites boolean"),
        pytest.param(SITES, "limit", id="sites limit"),
        pytest.param(APS, "status", id="aps status"),
        pytest.param(APS, "sort", id="aps sort"),
        pytest.param(INVENTORY, "sku_type", id="inventory sku type"),
    ],
)
async def test_an_empty_query_value_reads_as_absent(
    gateway: Gateway, pair: TokenPair, path: str, name: str
) -> None:
    reply = await gateway.get(path, pair.access_token, {name: ""})

    assert reply.status == 200


async def test_an_empty_json_token_request_is_a_bad_grant(gateway: Gateway) -> None:
    reply = await gateway.request(
        "POST", TOKEN, data=b"", headers={"Content-Type": "application/json"}
    )

    assert reply.json()["error"] == "unsupported_grant_type"


def _control_path(template: str, app: AppInfo) -> str:
    return "/_fake" + template.format(
        client_id=app.client_id, customer_id=app.customer_id
    )


@pytest.mark.parametrize("template", CONTROL_BODIES)
async def test_malformed_json_on_a_control_route_is_a_bad_request(
    gateway: Gateway, app_info: AppInfo, template: str
) -> None:
    reply = await gateway.request(
        "POST",
        _control_path(template, app_info),
        data=b'{"sites": ',
        headers={"Content-Type": "application/json"},
    )

    assert reply.status == 400
    assert reply.json()["error"] == "malformed_json"


@pytest.mark.parametrize("template", CONTROL_BODIES)
async def test_a_non_json_body_on_a_control_route_is_an_unsupported_media_type(
    gateway: Gateway, app_info: AppInfo, template: str
) -> None:
    reply = await gateway.request(
        "POST",
        _control_path(template, app_info),
        data=b"sites=3",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert reply.status == 415
    assert "application/json" in reply.json()["message"]


@pytest.mark.parametrize("template", CONTROL_BODIES)
async def test_a_json_array_on_a_control_route_is_unprocessable(
    gateway: Gateway, app_info: AppInfo, template: str
) -> None:
    reply = await gateway.request("POST", _control_path(template, app_info), json=[1])

    assert reply.status == 422


@pytest.mark.parametrize("template", CONTROL_BODIES)
async def test_an_unknown_query_parameter_on_a_control_route_is_refused(
    gateway: Gateway, app_info: AppInfo, template: str
) -> None:
    reply = await gateway.request(
        "POST", _control_path(template, app_info), params={"dry_run": "1"}, json={}
    )

    assert reply.status == 400
    assert "dry_run" in reply.json()["message"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        pytest.param("/clock", {"advance": "soon"}, "advance", id="clock advance"),
        pytest.param("/clock", {"set": "yesterday"}, "set", id="clock set"),
        pytest.param(
            "/clock", {"set": "2026-01-05T12:00:00"}, "set", id="clock naive time"
        ),
        pytest.param(
            "/inventory",
            {"customer_id": "c", "sites": -1, "devices": 1},
            "sites",
            id="negative sites",
        ),
        pytest.param(
            "/inventory",
            {"customer_id": "c", "sites": 1},
            "devices",
            id="missing devices",
        ),
        pytest.param(
            "/inventory",
            {"customer_id": "c", "sites": 1, "devices": 1, "unmonitored_fraction": 2},
            "unmonitored_fraction",
            id="fraction above one",
        ),
        pytest.param("/apps", {"colour": "blue"}, "colour", id="unknown app field"),
    ],
)
async def test_an_invalid_control_body_is_a_422_naming_the_field(
    gateway: Gateway, path: str, body: dict[str, object], field: str
) -> None:
    reply = await gateway.control("POST", path, body)

    assert reply.status == 422
    assert [item["field"] for item in reply.json()["fields"]] == [field]
    assert field in reply.json()["message"]


@pytest.mark.parametrize("path", ["/clock", "/inventory", "/faults", "/config"])
async def test_a_control_route_that_needs_a_body_says_so(
    gateway: Gateway, path: str
) -> None:
    reply = await gateway.control("POST", path)

    assert reply.status == 400
    assert reply.json()["error"] == "missing_body"


async def test_a_bad_journal_query_is_refused(gateway: Gateway) -> None:
    reply = await gateway.control("GET", "/journal", params={"since": "-1"})

    assert reply.status == 400
    assert "since" in reply.json()["message"]


async def test_bad_input_leaves_the_state_intact(
    gateway: Gateway, fake: FakeCentral, app_info: AppInfo, pair: TokenPair
) -> None:
    before = fake.config
    await gateway.control("POST", "/config", {"per_second_limit": 0})
    await gateway.request(
        "POST", "/_fake/faults", data=b"{", headers={"Content-Type": "application/json"}
    )

    reply = await gateway.get(SITES, pair.access_token)

    assert fake.config == before
    assert fake.faults.listing() == []
    assert reply.status == 200
