"""Transport edges: error translation, the resolver, odd answers, a shared store."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from aiohttp.client_reqrep import ConnectionKey
from connector_helpers import ClientFactory
from yarl import URL

from connector import CentralClient, Credentials, JsonFileTokenStore
from connector._sensitive import redact_url
from connector._transport import GatewayResolver, translate
from connector.errors import (
    CentralConnectionError,
    CentralTimeout,
    DailyBudgetExhausted,
    InvalidCredentials,
    UpstreamError,
)
from fake_central import FakeCentral, FakeClock

pytestmark = pytest.mark.usefixtures("tenant")

SITES = "/central/v2/sites"
SHOWN = "https://apigw-prod2.central.arubanetworks.com/central/v2/sites"
KEY = ConnectionKey(
    "apigw-prod2.central.arubanetworks.com", 443, True, True, None, None, None
)


def server_disconnected() -> aiohttp.ClientError:
    return aiohttp.ServerDisconnectedError()


def read_timeout() -> TimeoutError:
    return TimeoutError()


def connect_timeout() -> aiohttp.ClientError:
    return aiohttp.ConnectionTimeoutError()


def refused() -> aiohttp.ClientError:
    return aiohttp.ClientConnectorError(
        KEY, ConnectionRefusedError(111, "Connection refused")
    )


@pytest.mark.parametrize(
    ("make", "kind", "retryable", "maybe_sent"),
    [
        (read_timeout, CentralTimeout, True, True),
        (connect_timeout, CentralTimeout, True, False),
        (refused, CentralConnectionError, True, False),
        (server_disconnected, CentralConnectionError, True, True),
        (lambda: aiohttp.ClientPayloadError("cut"), CentralConnectionError, True, True),
        (lambda: aiohttp.InvalidURL("x"), UpstreamError, False, True),
    ],
    ids=[
        "read-timeout",
        "connect-timeout",
        "refused",
        "disconnected",
        "payload",
        "other",
    ],
)
def test_aiohttp_failures_translate_to_the_tree(
    make: Callable[[], aiohttp.ClientError | TimeoutError],
    kind: type[Exception],
    retryable: bool,
    maybe_sent: bool,
) -> None:
    failure = translate(make(), "GET", SHOWN, 10.0)

    assert type(failure.error) is kind
    assert (failure.retryable, failure.maybe_sent) == (retryable, maybe_sent)
    assert failure.error.method == "GET"
    assert failure.error.url == SHOWN


def test_a_timeout_is_a_builtin_timeout_error() -> None:
    failure = translate(TimeoutError(), "GET", SHOWN, 10.0)

    assert isinstance(failure.error, TimeoutError)
    assert "within 10 s" in str(failure.error)


async def test_the_resolver_dials_connect_to_for_the_gateway_only() -> None:
    resolver = GatewayResolver(
        "apigw-prod2.central.arubanetworks.com", ("127.0.0.1", 8443)
    )

    (found,) = await resolver.resolve("apigw-prod2.central.arubanetworks.com", 443)
    with pytest.raises(OSError, match="only the gateway host"):
        await resolver.resolve("evil.test", 443)
    await resolver.close()

    assert (found["host"], found["port"]) == ("127.0.0.1", 8443)
    assert found["hostname"] == "apigw-prod2.central.arubanetworks.com"
    assert found["family"] == socket.AF_INET


def test_urls_in_messages_never_show_secret_query_values() -> None:
    url = URL(
        "https://u:p@apigw-prod2.central.arubanetworks.com/x?access_token=abc&limit=2"
    )

    shown = redact_url(url)

    assert (
        shown
        == "https://apigw-prod2.central.arubanetworks.com/x?access_token=***&limit=2"
    )


async def test_read_timeouts_are_retried_then_raised_as_central_timeout(
    make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def timing_out(self: aiohttp.ClientSession, method: str, url: Any, **_: Any) -> Any:
        calls.append(method)
        raise TimeoutError

    async with make_client(max_retries=2) as client:
        await client.open()
        monkeypatch.setattr(aiohttp.ClientSession, "request", timing_out)
        with pytest.raises(CentralTimeout) as caught:
            await client.list_sites()

    assert calls == ["GET"] * 3
    assert isinstance(caught.value.__cause__, TimeoutError)


async def test_a_401_right_after_a_refresh_is_reported_not_retried(
    make_client: ClientFactory, fake: FakeCentral
) -> None:
    body = {
        "error": "invalid_token",
        "error_description": "The access token is invalid",
    }
    fake.arm_fault(
        {
            "match": {"path": SITES},
            "when": {"next": 2},
            "action": {"kind": "status", "status": 401, "body": body},
        }
    )

    async with make_client() as client:
        with pytest.raises(InvalidCredentials, match="right after a refresh"):
            await client.list_sites()
        stats = client.stats

    assert (stats.refreshes, stats.unauthorized) == (1, 2)


async def test_a_429_for_the_day_raises_at_once(
    make_client: ClientFactory, fake: FakeCentral
) -> None:
    headers = {"X-RateLimit-Remaining-day": "0", "X-RateLimit-Limit-day": "5000"}
    fake.arm_fault(
        {
            "match": {"path": SITES},
            "action": {
                "kind": "status",
                "status": 429,
                "body": {"message": "API rate limit exceeded"},
                "headers": headers,
            },
        }
    )

    async with make_client() as client:
        with pytest.raises(DailyBudgetExhausted) as caught:
            await client.list_sites()

    assert len(fake.journal) == 1
    assert caught.value.method == "GET"


async def test_two_clients_sharing_a_store_refresh_once_between_them(
    make_client: ClientFactory, fake: FakeCentral, clock: FakeClock, tmp_path: Any
) -> None:
    path = tmp_path / "shared.json"

    async with (
        make_client(store=JsonFileTokenStore(path)) as first,
        make_client(store=JsonFileTokenStore(path)) as second,
    ):
        await asyncio.gather(first.list_sites(), second.list_sites())
        clock.advance(7201)  # both now hold the same expired pasted pair
        await asyncio.gather(first.list_sites(), second.list_sites())
        refreshes = first.stats.refreshes + second.stats.refreshes
        adoptions = first.stats.adoptions + second.stats.adoptions

    assert fake.refresh_count() == refreshes == 1
    assert adoptions == 1


def test_a_client_without_a_store_warns_that_rotations_are_lost(
    creds: Credentials, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="connector"):
        CentralClient(creds)

    assert "lost when the process exits" in caplog.text


def test_an_unreadable_ca_file_is_explained(creds: Credentials, tmp_path: Any) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate")

    with pytest.raises(InvalidCredentials, match="CA file"):
        CentralClient(creds, ca_file=bad)
