"""HTTPS with real hostname verification: dial 127.0.0.1, verify the cluster name."""

from __future__ import annotations

import ssl
from pathlib import Path

import aiohttp
import pytest
from fake_helpers import SITES

from fake_central import CLUSTERS, FakeCentral
from fake_central.testing import RunningFake, serve_fake
from fake_central.tls import tls_material


async def _get(
    running: RunningFake, url: str, token: str, context: ssl.SSLContext
) -> int:
    connector = aiohttp.TCPConnector(resolver=running.resolver(), ssl=context)
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.get(url, headers={"Authorization": f"Bearer {token}"}) as response,
    ):
        return response.status


@pytest.mark.parametrize("cluster", ["US-2", "China-1", "EU-Central3", "Internal"])
async def test_each_cluster_hostname_verifies_against_the_throwaway_ca(
    fake: FakeCentral, cluster: str
) -> None:
    app = fake.create_app(cluster=cluster)
    token = fake.mint(app.client_id).access_token

    async with serve_fake(fake, tls=True) as running:
        assert running.ca_file is not None
        status = await _get(
            running, running.gateway_url(cluster) + SITES, token, running.ssl_context()
        )

    assert status == 200
    assert fake.journal[-1].cluster == cluster


async def test_a_hostname_outside_the_certificate_fails_verification(
    fake: FakeCentral,
) -> None:
    async with serve_fake(fake, tls=True) as running:
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await _get(
                running, "https://gateway.example.test/", "t", running.ssl_context()
            )


async def test_a_client_that_does_not_trust_the_ca_is_refused(
    fake: FakeCentral,
) -> None:
    async with serve_fake(fake, tls=True) as running:
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await _get(
                running,
                running.gateway_url("US-2") + SITES,
                "t",
                ssl.create_default_context(),
            )


async def test_the_loopback_url_is_https_and_verifies_as_the_loopback_address(
    fake: FakeCentral,
) -> None:
    async with (
        serve_fake(fake, tls=True) as running,
        aiohttp.ClientSession() as session,
        session.get(
            running.url + "/_fake/health", ssl=running.ssl_context()
        ) as response,
    ):
        assert running.url.startswith("https://127.0.0.1:")
        assert response.status == 200


async def test_the_ca_file_is_removed_when_the_server_closes(fake: FakeCentral) -> None:
    async with serve_fake(fake, tls=True) as running:
        ca_file = running.ca_file
        assert ca_file is not None
        assert ca_file.read_text().startswith("-----BEGIN CERTIFICATE-----")

    assert not ca_file.exists()


def test_the_certificate_names_every_cluster_and_loopback() -> None:
    material = tls_material(["central.example.test"])

    for host in CLUSTERS.values():
        assert host in material.identities
    assert {"localhost", "127.0.0.1", "::1", "central.example.test"} <= set(
        material.identities
    )


def test_the_ca_can_be_written_where_asked(tmp_path: Path) -> None:
    written = tls_material().write_ca(tmp_path / "nested" / "ca.pem")

    assert written.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
