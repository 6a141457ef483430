"""No secret leaks, proven: a whole refresh-and-read cycle with errors, at DEBUG.

Every token the fake issues is recorded as it is made. The test then runs reads,
an expired token, refreshes, 5xx and 429 retries, a malformed answer, a 403, a
wrong client secret, a lost refresh answer and a TLS failure, with the
``connector`` tree and aiohttp's loggers at DEBUG, and looks for every secret in
log lines, reprs, exception texts and tracebacks, and the URLs the fake saw.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

import pytest
from connector_helpers import ClientFactory

import fake_central.oauth
from connector import Credentials, MemoryTokenStore, TokenStore
from connector.errors import (
    CentralError,
    InvalidCredentials,
    MalformedResponse,
    PermissionDenied,
    RefreshTokenRejected,
)
from fake_central import AppInfo, FakeCentral, FakeClock, Tenant

SITES = "/central/v2/sites"
LOGGERS = ["connector", "aiohttp", "aiohttp.client", "aiohttp.internal", "asyncio"]


@pytest.fixture
def issued(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every token the fake makes from now on."""
    made: list[str] = []
    original = fake_central.oauth.new_token

    def recording() -> str:
        token = original()
        made.append(token)
        return token

    monkeypatch.setattr(fake_central.oauth, "new_token", recording)
    return made


def once(fake: FakeCentral, path: str, action: dict[str, Any]) -> None:
    fake.arm_fault({"match": {"path": path}, "when": {"next": 1}, "action": action})


def texts_of(error: BaseException) -> list[str]:
    shown = [str(error), repr(error), "".join(traceback.format_exception(error))]
    for name in ("message", "url", "value"):
        value = getattr(error, name, None)
        if isinstance(value, str):
            shown.append(value)
    return shown


async def expect(error: type[CentralError], call: Any) -> list[str]:
    with pytest.raises(error) as caught:
        await call
    return texts_of(caught.value)


async def test_a_full_cycle_at_debug_leaks_no_secret(
    issued: list[str],
    caplog: pytest.LogCaptureFixture,
    creds: Credentials,
    fake: FakeCentral,
    app_info: AppInfo,
    tenant: Tenant,
    clock: FakeClock,
    make_client: ClientFactory,
    token_store: TokenStore,
) -> None:
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    caplog.set_level(logging.DEBUG)
    wrong_secret = "wrong-secret-" + app_info.client_secret[::-1]
    shown: list[str] = [repr(creds), str(creds), repr(token_store)]

    # Reads, an expired pasted token, retries and a malformed answer.
    clock.advance(7201)
    async with make_client(creds) as client:
        shown.append(repr(client))
        await client.list_sites()
        once(fake, SITES, {"kind": "plain_text", "status": 503})
        once(fake, SITES, {"kind": "status", "status": 429, "body": {"message": "x"}})
        await client.list_sites()
        await client.refresh_tokens()
        await client.list_inventory()
        once(fake, SITES, {"kind": "status", "status": 200, "body": {"sites": 1}})
        shown += await expect(MalformedResponse, client.list_sites())
        shown += [repr(client._auth), repr(client._auth.current), repr(client.pacer)]
        shown.append(repr(token_store.load(app_info.client_id)))

        # A lost refresh answer, then the dead end.
        once(fake, "/oauth2/token", {"kind": "lose_token_response"})
        shown += await expect(RefreshTokenRejected, client.refresh_tokens())
        shown += await expect(RefreshTokenRejected, client.list_sites())

    # A wrong client secret, a 403, and a TLS failure.
    bad = creds.model_copy(
        update={"client_secret": creds.client_secret.__class__(wrong_secret)}
    )
    async with make_client(bad, store=MemoryTokenStore()) as client:
        shown += await expect(InvalidCredentials, client.refresh_tokens())
    home = fake.create_app(cluster="US-2", app_type="account_home")
    home_pair = fake.mint(home.client_id)
    home_creds = Credentials(
        gateway_url=home.gateway_url,
        client_id=home.client_id,
        client_secret=home.client_secret,
        access_token=home_pair.access_token,
        refresh_token=home_pair.refresh_token,
    )
    async with make_client(home_creds, store=MemoryTokenStore()) as client:
        shown += await expect(PermissionDenied, client.list_sites())
    async with make_client(creds, ca_file=None, store=MemoryTokenStore()) as client:
        shown += await expect(CentralError, client.list_sites())

    secrets = {app_info.client_secret, home.client_secret, wrong_secret, *issued}
    places = {
        "log line": [caplog.handler.format(record) for record in caplog.records],
        "repr or exception text": shown,
        "request URL": [f"{e.path}?{e.query}" for e in fake.journal],
    }

    assert len(issued) >= 6, "the cycle made several pairs"
    assert places["log line"], "DEBUG logging captured the cycle"
    assert all(e.query == {} for e in fake.journal if e.path == "/oauth2/token")
    # Say where a secret leaked, never the secret itself.
    leaks = sorted(
        f"a secret in a {place}, after {text[: text.index(secret)][-60:]!r}"
        for place, texts in places.items()
        for text in texts
        for secret in secrets
        if secret in text
    )
    assert leaks == []
