"""The test helpers: loopback, port 0, idempotent close, sync use, loud failures."""

from __future__ import annotations

import json
import urllib.request

import aiohttp
import pytest
from fake_helpers import SITES

from fake_central import FakeCentral, FakeServerError, make_app
from fake_central.testing import serve_fake, serve_fake_in_thread


async def test_a_served_fake_listens_on_loopback_with_a_free_port(
    fake: FakeCentral,
) -> None:
    async with serve_fake(fake) as running:
        assert running.host == "127.0.0.1"
        assert running.port > 0
        assert running.url == f"http://127.0.0.1:{running.port}"
        assert running.fake is fake
        assert running.ca_file is None
        assert (
            running.gateway_url("EU-1") == "https://eu-apigw.central.arubanetworks.com"
        )


async def test_closing_twice_is_harmless(fake: FakeCentral) -> None:
    server = serve_fake(fake)
    running = await server.start()

    await server.close()
    await server.close()

    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectionError):
            await session.get(running.url + "/_fake/health")


async def test_starting_twice_returns_the_same_running_fake(fake: FakeCentral) -> None:
    server = serve_fake(fake)

    first = await server.start()
    second = await server.start()
    await server.close()

    assert first is second


async def test_a_plain_fake_has_no_tls_context(fake: FakeCentral) -> None:
    async with serve_fake(fake) as running:
        with pytest.raises(RuntimeError, match="tls=True"):
            running.ssl_context()


async def test_a_bug_in_a_handler_answers_500_and_fails_the_test_at_close(
    fake: FakeCentral, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = fake.create_app()
    token = fake.mint(app.client_id).access_token

    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("simulated bug")

    monkeypatch.setattr(fake, "tenant_or_none", broken)
    server = serve_fake(fake)
    running = await server.start()
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            running.url + SITES, headers={"Authorization": f"Bearer {token}"}
        ) as reply,
    ):
        body = await reply.json()

    with pytest.raises(FakeServerError, match="ZeroDivisionError") as raised:
        await server.close()

    assert reply.status == 500
    assert body == {"message": "An unexpected error occurred"}
    assert isinstance(raised.value.__cause__, ZeroDivisionError)


def test_a_fake_in_a_thread_serves_synchronous_clients(fake: FakeCentral) -> None:
    app = fake.create_app()
    token = fake.mint(app.client_id).access_token

    with serve_fake_in_thread(fake) as running:
        request = urllib.request.Request(  # noqa: S310 - a loopback http URL
            running.url + SITES, headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(request, timeout=5) as reply:  # noqa: S310
            body = json.load(reply)

    assert body == {"count": 0, "sites": [], "total": 0}
    assert fake.journal[-1].path == SITES


def test_a_fake_in_a_thread_can_serve_tls(fake: FakeCentral) -> None:
    with serve_fake_in_thread(fake, tls=True) as running:
        request = urllib.request.Request(running.url + "/_fake/health")  # noqa: S310
        with urllib.request.urlopen(  # noqa: S310
            request, timeout=5, context=running.ssl_context()
        ) as reply:
            assert json.load(reply)["status"] == "ok"


def test_the_application_factory_makes_a_default_fake() -> None:
    assert make_app().router.routes()
