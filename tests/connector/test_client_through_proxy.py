"""The client through an HTTP proxy: CONNECT tunnels, basic auth, proxy failures.

The proxy (``tunnel_proxy.TunnelProxy``) runs on loopback and tunnels every
CONNECT to the served fake, so the client names the real gateway host in its
CONNECT and verifies the fake's certificate for it through the tunnel.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator

import pytest
from connector_helpers import ClientFactory
from tunnel_proxy import TunnelProxy

from connector import Credentials
from connector.errors import CentralConnectionError, InvalidCredentials
from fake_central import FakeCentral
from fake_central.testing import RunningFake

pytestmark = pytest.mark.usefixtures("tenant")

GATEWAY = "apigw-prod2.central.arubanetworks.com:443"
PASSWORD = "proxy-pass-7f3e9c2a"


@pytest.fixture
async def proxy(running: RunningFake) -> AsyncIterator[TunnelProxy]:
    async with TunnelProxy((running.host, running.port)) as tunnel:
        yield tunnel


@pytest.fixture
async def guarded(running: RunningFake) -> AsyncIterator[TunnelProxy]:
    target = (running.host, running.port)
    async with TunnelProxy(target, credentials=("alice", PASSWORD)) as tunnel:
        yield tunnel


async def test_reads_go_through_the_proxys_tunnel_to_the_gateway(
    make_client: ClientFactory, proxy: TunnelProxy, fake: FakeCentral
) -> None:
    async with make_client(connect_to=None, proxy=proxy.url()) as client:
        page = await client.list_sites()

    assert page.total > 0
    assert proxy.tunnels == [GATEWAY]
    assert [entry.status for entry in fake.journal] == [200]


async def test_the_proxy_user_and_password_go_in_proxy_authorization(
    make_client: ClientFactory, guarded: TunnelProxy
) -> None:
    async with make_client(
        connect_to=None, proxy=guarded.url(f"alice:{PASSWORD}@")
    ) as client:
        page = await client.list_sites()

    assert page.total > 0
    assert guarded.authorizations[0] is not None
    assert guarded.authorizations[0].startswith("Basic ")


async def test_a_407_says_to_check_the_proxy_credentials_and_never_shows_them(
    make_client: ClientFactory, guarded: TunnelProxy, fake: FakeCentral
) -> None:
    wrong = "wrong-" + PASSWORD
    async with make_client(
        connect_to=None, proxy=guarded.url(f"alice:{wrong}@")
    ) as client:
        with pytest.raises(InvalidCredentials) as caught:
            await client.list_sites()

    message = str(caught.value)
    assert "407" in message
    assert f"http://alice@127.0.0.1:{guarded.port}" in message
    assert "check the user and password" in message
    assert wrong not in message
    assert fake.journal == []


async def test_a_proxy_that_refuses_the_tunnel_is_named_in_the_error(
    make_client: ClientFactory, running: RunningFake
) -> None:
    async with (
        TunnelProxy((running.host, running.port), refuse_with=403) as refusing,
        make_client(connect_to=None, proxy=refusing.url()) as client,
    ):
        with pytest.raises(CentralConnectionError, match="would not open a tunnel"):
            await client.list_sites()

    assert refusing.tunnels == [GATEWAY]


async def test_an_unreachable_proxy_is_retried_then_named_without_its_password(
    make_client: ClientFactory,
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    proxy_url = f"http://alice:{PASSWORD}@127.0.0.1:{port}"

    async with make_client(connect_to=None, proxy=proxy_url) as client:
        with pytest.raises(CentralConnectionError) as caught:
            await client.list_sites()
        retries = client.stats.retries

    assert f"could not connect to the proxy http://alice@127.0.0.1:{port}" in str(
        caught.value
    )
    assert PASSWORD not in str(caught.value)
    assert retries == 3


@pytest.mark.parametrize(
    ("proxy_url", "problem"),
    [
        ("ftp://proxy.example:21", "must be a URL like"),
        ("socks5://proxy.example:1080", "must be a URL like"),
        ("http://", "must be a URL like"),
        ("proxy.example:3128", "must be a URL like"),
        ("http://proxy.example:3128/path", "must not have a path"),
        ("http://proxy.example:3128/?q=1", "must not have a path"),
        ("http://proxy.example:99999", "must be a URL like"),
    ],
)
def test_a_malformed_proxy_url_is_refused_before_any_request(
    creds: Credentials, proxy_url: str, problem: str
) -> None:
    from connector import CentralClient

    with pytest.raises(InvalidCredentials, match=problem):
        CentralClient(creds, proxy=proxy_url)


def test_a_proxy_and_connect_to_cannot_be_combined(creds: Credentials) -> None:
    from connector import CentralClient

    with pytest.raises(ValueError, match="cannot be combined"):
        CentralClient(
            creds, proxy="http://proxy.example:3128", connect_to=("127.0.0.1", 8443)
        )


async def test_the_proxy_password_is_in_no_repr_and_no_log_line(
    make_client: ClientFactory,
    guarded: TunnelProxy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client(connect_to=None, proxy=guarded.url(f"alice:{PASSWORD}@"))

    async with client:
        await client.list_sites()

    assert "alice@127.0.0.1" in repr(client)
    assert PASSWORD not in repr(client)
    assert PASSWORD not in caplog.text
