"""The token manager with a scripted refresh exchange: who refreshes, and when."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from connector_helpers import START
from pydantic import SecretStr

from connector import Credentials, JsonFileTokenStore, MemoryTokenStore, StoredTokens
from connector.auth import RefreshOutcomeUnknown, TokenGrant, TokenManager
from connector.errors import (
    InvalidCredentials,
    RefreshTokenRejected,
    TokenStoreError,
)
from fake_central import FakeClock

Outcome = TokenGrant | BaseException | Callable[[], TokenGrant]


def credentials(
    refresh: str = "pasted-refresh", access: str = "pasted-access"
) -> Credentials:
    return Credentials(
        gateway_url="https://apigw-prod2.central.arubanetworks.com",
        client_id="client-a",
        client_secret="client-secret-value",
        access_token=access,
        refresh_token=refresh,
    )


def grant(n: int, expires_in: int | None = 7200) -> TokenGrant:
    return TokenGrant(SecretStr(f"access-{n}"), SecretStr(f"refresh-{n}"), expires_in)


class ScriptedExchange:
    """Answers refreshes from a script; records the refresh tokens it was given."""

    def __init__(self, *outcomes: Outcome) -> None:
        self.outcomes = list(outcomes)
        self.sent: list[str] = []
        self.gate: asyncio.Event | None = None

    async def __call__(self, refresh_token: SecretStr) -> TokenGrant:
        self.sent.append(refresh_token.get_secret_value())
        if self.gate is not None:
            await self.gate.wait()
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome() if callable(outcome) else outcome


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=START, frozen=True)


def manager(
    exchange: ScriptedExchange,
    clock: FakeClock,
    store: MemoryTokenStore | JsonFileTokenStore | None = None,
    creds: Credentials | None = None,
) -> TokenManager:
    return TokenManager(
        creds or credentials(), store or MemoryTokenStore(), exchange, now=clock.now
    )


def secret(tokens: StoredTokens | None) -> tuple[str, str]:
    assert tokens is not None
    return (
        tokens.access_token.get_secret_value(),
        tokens.refresh_token.get_secret_value(),
    )


# --- starting from the store -------------------------------------------------------


async def test_an_empty_store_starts_the_chain_from_the_pasted_pair(
    clock: FakeClock,
) -> None:
    store = MemoryTokenStore()

    tokens = await manager(ScriptedExchange(), clock, store).token()

    assert secret(tokens) == ("pasted-access", "pasted-refresh")
    assert tokens.generation == 0
    assert tokens.expires_at is None
    assert store.load("client-a") == tokens


async def test_a_stored_descendant_of_the_pasted_pair_wins(clock: FakeClock) -> None:
    store = MemoryTokenStore()
    await manager(ScriptedExchange(grant(1)), clock, store).refresh_now()

    tokens = await manager(ScriptedExchange(), clock, store).token()

    assert secret(tokens) == ("access-1", "refresh-1")


async def test_a_newly_pasted_pair_replaces_the_stored_chain(clock: FakeClock) -> None:
    store = MemoryTokenStore()
    await manager(ScriptedExchange(grant(1)), clock, store).refresh_now()
    old_origin = credentials().pasted_fingerprint

    tokens = await manager(
        ScriptedExchange(), clock, store, credentials("new-refresh", "new-access")
    ).token()

    assert secret(tokens) == ("new-access", "new-refresh")
    assert tokens.generation == 2
    assert tokens.superseded == (old_origin,)
    assert store.load("client-a") == tokens


async def test_a_stale_copy_of_an_older_paste_does_not_replace_the_chain(
    clock: FakeClock,
) -> None:
    store = MemoryTokenStore()
    await manager(ScriptedExchange(), clock, store).token()
    await manager(ScriptedExchange(), clock, store, credentials("new-refresh")).token()

    tokens = await manager(ScriptedExchange(), clock, store).token()

    assert secret(tokens)[1] == "new-refresh"


async def test_the_store_remembers_a_fingerprint_not_the_pasted_token(
    tmp_path: Path, clock: FakeClock
) -> None:
    store = JsonFileTokenStore(tmp_path / "tokens.json")
    await manager(ScriptedExchange(grant(1)), clock, store).refresh_now()

    text = (tmp_path / "tokens.json").read_text()

    assert "pasted-refresh" not in text
    assert credentials().pasted_fingerprint in text


# --- single flight -----------------------------------------------------------------


async def test_concurrent_401s_on_the_same_pair_cause_one_refresh(
    clock: FakeClock,
) -> None:
    exchange = ScriptedExchange(grant(1))
    exchange.gate = asyncio.Event()
    tokens = manager(exchange, clock)
    used = await tokens.token()

    waiting = [
        asyncio.ensure_future(tokens.after_unauthorized(used)) for _ in range(50)
    ]
    await asyncio.sleep(0)
    exchange.gate.set()
    results = await asyncio.gather(*waiting)

    assert exchange.sent == ["pasted-refresh"]
    assert {secret(result) for result in results} == {("access-1", "refresh-1")}


async def test_a_401_with_an_older_pair_retries_with_the_current_one(
    clock: FakeClock,
) -> None:
    exchange = ScriptedExchange(grant(1))
    tokens = manager(exchange, clock)
    old = await tokens.token()
    await tokens.after_unauthorized(old)

    again = await tokens.after_unauthorized(old)

    assert secret(again) == ("access-1", "refresh-1")
    assert exchange.sent == ["pasted-refresh"]


async def test_a_cancelled_request_does_not_abandon_the_refresh(
    clock: FakeClock,
) -> None:
    store = MemoryTokenStore()
    exchange = ScriptedExchange(grant(1))
    exchange.gate = asyncio.Event()
    tokens = manager(exchange, clock, store)
    used = await tokens.token()

    request = asyncio.ensure_future(tokens.after_unauthorized(used))
    await asyncio.sleep(0)
    request.cancel()
    exchange.gate.set()
    fresh = await tokens.after_unauthorized(used)

    assert request.cancelled()
    assert secret(fresh) == ("access-1", "refresh-1")
    assert secret(store.load("client-a")) == ("access-1", "refresh-1")
    assert exchange.sent == ["pasted-refresh"]


# --- expiry ------------------------------------------------------------------------


async def test_a_pasted_pair_of_unknown_expiry_is_not_refreshed_ahead(
    clock: FakeClock,
) -> None:
    exchange = ScriptedExchange()
    tokens = manager(exchange, clock)
    await tokens.token()
    clock.advance(30 * 86_400)

    await tokens.token()

    assert exchange.sent == []


async def test_a_pair_is_refreshed_ahead_of_its_known_expiry(clock: FakeClock) -> None:
    exchange = ScriptedExchange(grant(1), grant(2))
    tokens = manager(exchange, clock)
    await tokens.refresh_now()
    clock.advance(7200 - 301)
    assert secret(await tokens.token()) == ("access-1", "refresh-1")

    clock.advance(2)
    fresh = await asyncio.gather(*(tokens.token() for _ in range(20)))

    assert {secret(pair) for pair in fresh} == {("access-2", "refresh-2")}
    assert exchange.sent == ["pasted-refresh", "refresh-1"]


# --- other processes ---------------------------------------------------------------


async def test_a_newer_pair_in_the_store_is_adopted_instead_of_refreshing(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "tokens.json"
    ours = manager(ScriptedExchange(), clock, JsonFileTokenStore(path))
    used = await ours.token()
    await manager(
        ScriptedExchange(grant(1)), clock, JsonFileTokenStore(path)
    ).refresh_now()

    adopted = await ours.after_unauthorized(used)

    assert secret(adopted) == ("access-1", "refresh-1")
    assert ours.refreshes == 0
    assert ours.adoptions == 1


async def test_a_new_pair_is_in_the_store_before_it_is_used(
    tmp_path: Path, clock: FakeClock
) -> None:
    store = JsonFileTokenStore(tmp_path / "tokens.json")
    seen_during_exchange: list[tuple[str, str]] = []

    def answer() -> TokenGrant:
        seen_during_exchange.append(secret(store.load("client-a")))
        return grant(1)

    tokens = manager(ScriptedExchange(answer), clock, store)

    fresh = await tokens.refresh_now()

    assert seen_during_exchange == [("pasted-access", "pasted-refresh")]
    assert secret(store.load("client-a")) == secret(fresh) == ("access-1", "refresh-1")
    assert fresh.generation == 1
    assert fresh.expires_at == START + timedelta(seconds=7200)


# --- dead ends ---------------------------------------------------------------------


async def test_a_rejected_refresh_token_is_final_and_sends_nothing_more(
    clock: FakeClock,
) -> None:
    exchange = ScriptedExchange(
        RefreshTokenRejected("Central rejected the refresh token")
    )
    tokens = manager(exchange, clock)
    used = await tokens.token()

    with pytest.raises(RefreshTokenRejected, match="View Tokens") as first:
        await tokens.after_unauthorized(used)
    with pytest.raises(RefreshTokenRejected) as second:
        await asyncio.gather(*(tokens.token() for _ in range(10)))

    assert exchange.sent == ["pasted-refresh"]
    assert "client-a" in str(first.value)
    assert second.value is first.value


async def test_a_rejected_pair_stops_the_next_process_before_any_traffic(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "tokens.json"
    first_run = manager(
        ScriptedExchange(RefreshTokenRejected("Central rejected the refresh token")),
        clock,
        JsonFileTokenStore(path),
    )
    with pytest.raises(RefreshTokenRejected):
        await first_run.after_unauthorized(await first_run.token())
    later_exchange = ScriptedExchange()
    later_run = manager(later_exchange, clock, JsonFileTokenStore(path))

    with pytest.raises(RefreshTokenRejected, match="earlier run") as raised:
        await later_run.token()

    assert later_exchange.sent == []
    assert "View Tokens" in str(raised.value)
    stored = JsonFileTokenStore(path).load("client-a")
    assert stored is not None
    assert stored.rejected == "Central rejected the refresh token"


async def test_a_new_pair_saved_after_a_dead_end_brings_the_client_back(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "tokens.json"
    exchange = ScriptedExchange(
        RefreshTokenRejected("Central rejected the refresh token")
    )
    tokens = manager(exchange, clock, JsonFileTokenStore(path))
    used = await tokens.token()
    with pytest.raises(RefreshTokenRejected):
        await tokens.after_unauthorized(used)

    fresh_paste = credentials("pasted-again", "access-again")
    await manager(
        ScriptedExchange(), clock, JsonFileTokenStore(path), fresh_paste
    ).token()

    assert secret(await tokens.token()) == ("access-again", "pasted-again")


async def test_a_lost_refresh_answer_is_retried_once(clock: FakeClock) -> None:
    exchange = ScriptedExchange(RefreshOutcomeUnknown("dropped"), grant(1))

    fresh = await manager(exchange, clock).refresh_now()

    assert secret(fresh) == ("access-1", "refresh-1")
    assert exchange.sent == ["pasted-refresh", "pasted-refresh"]


async def test_a_lost_answer_and_a_refused_retry_is_a_dead_end(
    clock: FakeClock,
) -> None:
    exchange = ScriptedExchange(
        RefreshOutcomeUnknown("dropped"), RefreshTokenRejected("Invalid refresh_token")
    )

    with pytest.raises(RefreshTokenRejected, match="lost") as caught:
        await manager(exchange, clock).refresh_now()

    assert "View Tokens" in str(caught.value)
    assert len(exchange.sent) == 2


async def test_two_lost_answers_are_a_dead_end_without_a_third_try(
    clock: FakeClock,
) -> None:
    exchange = ScriptedExchange(RefreshOutcomeUnknown("a"), RefreshOutcomeUnknown("b"))
    tokens = manager(exchange, clock)

    with pytest.raises(RefreshTokenRejected, match="lost twice"):
        await tokens.refresh_now()
    with pytest.raises(RefreshTokenRejected):
        await tokens.token()

    assert len(exchange.sent) == 2


async def test_a_rejected_client_secret_is_final_too(clock: FakeClock) -> None:
    exchange = ScriptedExchange(
        InvalidCredentials("Central rejected the client secret")
    )
    tokens = manager(exchange, clock)

    with pytest.raises(InvalidCredentials):
        await tokens.refresh_now()
    with pytest.raises(InvalidCredentials):
        await tokens.token()

    assert len(exchange.sent) == 1


# --- a store that fails ------------------------------------------------------------


class FlakyStore(MemoryTokenStore):
    def __init__(self) -> None:
        super().__init__()
        self.fail_saves = 0

    def save(self, tokens: StoredTokens) -> None:
        if self.fail_saves:
            self.fail_saves -= 1
            raise TokenStoreError("token store 'x' cannot be written (disk full)")
        super().save(tokens)


async def test_a_pair_that_could_not_be_saved_is_kept_unused_and_saved_later(
    clock: FakeClock,
) -> None:
    store = FlakyStore()
    tokens = manager(ScriptedExchange(grant(1)), clock, store)
    await tokens.token()
    store.fail_saves = 1

    with pytest.raises(TokenStoreError):
        await tokens.refresh_now()
    assert secret(tokens.current) == ("pasted-access", "pasted-refresh")

    current = await tokens.token()

    assert secret(current) == ("access-1", "refresh-1")
    assert secret(store.load("client-a")) == ("access-1", "refresh-1")
