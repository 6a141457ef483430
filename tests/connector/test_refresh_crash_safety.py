"""A rotated refresh token is never lost: SIGKILL a refresh loop, many times.

A child process (forked from ``refresh_loop_child.py``) refreshes the pair over
and over against the fake served by this test, over TLS, saving each new pair in
a file or SQLite store. The test kills it with SIGKILL at a random point: right
after start-up, after it reported some saved refreshes, or the moment the fake
has committed a rotation (when the answer may or may not have reached the
child). Then it checks the store:

* the store always loads (never torn or half-written);
* the stored pair is the one the fake accepts, unless the fake's last rotation
  was never confirmed by the child (its answer had not been saved when the kill
  came); then the stored pair is exactly the one before it, and nothing older;
* the next child starts from the store, not from the pasted pair.

A pair lost in flight is replaced as a user would: mint a new one and paste it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import pytest
from connector_helpers import START

from connector import (
    CentralClient,
    Credentials,
    JsonFileTokenStore,
    MemoryTokenStore,
    SqliteTokenStore,
    StoredTokens,
    TokenStore,
)
from connector.errors import RefreshTokenRejected
from fake_central import AppInfo, FakeCentral, FakeClock, FakeConfig
from fake_central.testing import RunningFake, serve_fake

REPO_ROOT = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("refresh_loop_child.py")
ITERATIONS = 30
DEADLINE = 10.0  # seconds of real time for one wait; a hang fails, it does not stall


@dataclass
class Child:
    """The zygote process and the lines it and its loops have printed."""

    process: asyncio.subprocess.Process
    lines: list[list[str]] = field(default_factory=list)
    taken: set[int] = field(default_factory=set)
    loops: set[str] = field(default_factory=set)

    @classmethod
    async def start(cls) -> Child:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(CHILD),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        )
        child = cls(process)
        await child.wait_for("zygote", "ready")
        return child

    async def spawn(
        self, credentials: Path, kind: str, store: Path, running: RunningFake
    ) -> str:
        await self.send(
            "spawn",
            str(credentials),
            kind,
            str(store),
            str(running.port),
            str(running.ca_file),
        )
        pid = (await self.wait_for("forked"))[1]
        self.loops.add(pid)
        return pid

    async def kill(self, pid: str) -> None:
        """SIGKILL one refresh loop and wait until it is gone."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid), signal.SIGKILL)
        self.loops.discard(pid)
        await self.send("reap", pid)
        await self.wait_for("reaped", pid)

    async def stop(self) -> None:
        for pid in list(self.loops):
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        assert self.process.stdin is not None
        self.process.stdin.close()
        await asyncio.wait_for(self.process.wait(), DEADLINE)

    async def send(self, *words: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write((" ".join(words) + "\n").encode())
        await self.process.stdin.drain()

    async def wait_for(self, *prefix: str) -> list[str]:
        """The first line with this prefix not returned before, waiting for it."""
        for index, line in enumerate(self.lines):
            if index not in self.taken and line[: len(prefix)] == list(prefix):
                self.taken.add(index)
                return line
        assert self.process.stdout is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DEADLINE
        while True:
            raw = await asyncio.wait_for(
                self.process.stdout.readline(), deadline - loop.time()
            )
            assert raw, f"the child ended while the test waited for {prefix}"
            line = raw.decode().split()
            self.lines.append(line)
            assert line[0] != "error", f"the refresh loop failed: {line}"
            if line[: len(prefix)] == list(prefix):
                self.taken.add(len(self.lines) - 1)
                return line

    def count(self, *prefix: str) -> int:
        return sum(1 for line in self.lines if line[: len(prefix)] == list(prefix))


def rotated(fake: FakeCentral, client_id: str, at_least: int) -> bool:
    return fake.refresh_count(client_id) >= at_least


async def spin_until(condition: Callable[[], bool]) -> None:
    """Yield to the loop (which serves the fake) until ``condition`` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE
    while not condition():
        assert loop.time() < deadline, "the refresh loop made no progress"
        await asyncio.sleep(0)


async def accepted(running: RunningFake, app: AppInfo, stored: StoredTokens) -> bool:
    """Whether the fake takes the stored pair as current (no refresh needed)."""
    creds = Credentials(
        gateway_url=app.gateway_url,
        client_id=app.client_id,
        client_secret=app.client_secret,
        access_token=stored.access_token.get_secret_value(),
        refresh_token=stored.refresh_token.get_secret_value(),
    )
    async with CentralClient(
        creds,
        store=MemoryTokenStore(),
        connect_to=(running.host, running.port),
        ca_file=running.ca_file,
        rate_per_second=1000.0,
    ) as client:
        try:
            await client.get_json("/central/v2/sites", {"offset": 0, "limit": 1})
        except RefreshTokenRejected:
            return False
        return client.stats.refreshes == 0


def pasted_pair(creds: Credentials) -> StoredTokens:
    return StoredTokens(
        client_id=creds.client_id,
        access_token=creds.access_token,
        refresh_token=creds.refresh_token,
        obtained_at=START,
        generation=0,
        origin=creds.pasted_fingerprint,
    )


def paste(path: Path, app: AppInfo, access: str, refresh: str) -> None:
    document = {
        "gateway_url": app.gateway_url,
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "access_token": access,
        "refresh_token": refresh,
    }
    path.write_text(json.dumps(document))


def store_file(store: TokenStore) -> Path:
    assert isinstance(store, JsonFileTokenStore | SqliteTokenStore)
    return store.path


STORES: dict[str, Callable[[Path], TokenStore]] = {
    "json": lambda directory: JsonFileTokenStore(directory / "tokens.json"),
    "sqlite": lambda directory: SqliteTokenStore(directory / "connector.db"),
}


@pytest.mark.parametrize("kind", list(STORES))
async def test_a_killed_refresh_loop_never_loses_a_confirmed_pair(
    tmp_path: Path, kind: str
) -> None:
    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    clock = FakeClock(start=START, frozen=True)
    # The clock stays put (no access token expires mid-test), so the mint rule
    # is off: a lost pair is re-minted at once.
    config = FakeConfig(rate_limit_enabled=False, mint_rule_enabled=False)
    fake = FakeCentral(config=config, clock=clock)
    app = fake.create_app(cluster="US-2", app_type="network_operations")
    fake.load_inventory(app.customer_id, sites=2, devices=2, seed=1)
    pair = fake.mint(app.client_id)
    credentials = tmp_path / "central.json"
    paste(credentials, app, pair.access_token, pair.refresh_token)
    store = STORES[kind](tmp_path)
    store_path = store_file(store)
    outcomes = {"confirmed": 0, "lost_in_flight": 0, "no_refresh_yet": 0}

    async with serve_fake(fake, tls=True) as running:
        child = await Child.start()
        try:
            for iteration in range(ITERATIONS):
                context = f"seed {seed}, iteration {iteration}"
                before = fake.refresh_count(app.client_id)
                pid = await child.spawn(credentials, kind, store_path, running)
                await child.wait_for("ready", pid)

                # Kill at a random point of the loop.
                point = rng.choice(["start", "saved", "rotated"])
                steps = rng.randint(1, 3)
                if point == "saved":
                    await child.wait_for("saved", pid, str(steps))
                elif point == "rotated":
                    target = before + steps
                    await spin_until(partial(rotated, fake, app.client_id, target))
                await child.kill(pid)

                rotations = fake.refresh_count(app.client_id) - before
                confirmed = child.count("saved", pid)
                stored = store.load(app.client_id)
                assert rotations - confirmed in (0, 1), context
                pasted = Credentials.from_file(credentials)
                if stored is None or stored.origin != pasted.pasted_fingerprint:
                    # Killed before the pasted pair was recorded: nothing rotated,
                    # and the next start takes the pasted pair.
                    assert rotations == 0, context
                    assert await accepted(running, app, pasted_pair(pasted)), context
                    outcomes["no_refresh_yet"] += 1
                    continue

                if await accepted(running, app, stored):
                    key = "confirmed" if rotations else "no_refresh_yet"
                    outcomes[key] += 1
                    continue

                # Only the one rotation whose answer was never saved may be lost.
                assert rotations == confirmed + 1, context
                outcomes["lost_in_flight"] += 1
                fresh = fake.mint(app.client_id)
                paste(credentials, app, fresh.access_token, fresh.refresh_token)
        finally:
            await child.stop()

    assert sum(outcomes.values()) == ITERATIONS
    assert outcomes["confirmed"] > 0, outcomes
    assert not any(entry.status >= 500 for entry in fake.journal)


@pytest.mark.parametrize("kind", list(STORES))
async def test_two_processes_sharing_a_store_never_spend_each_others_token(
    tmp_path: Path, kind: str
) -> None:
    clock = FakeClock(start=START, frozen=True)
    fake = FakeCentral(config=FakeConfig(rate_limit_enabled=False), clock=clock)
    app = fake.create_app(cluster="US-2", app_type="network_operations")
    pair = fake.mint(app.client_id)
    credentials = tmp_path / "central.json"
    paste(credentials, app, pair.access_token, pair.refresh_token)
    store_path = store_file(STORES[kind](tmp_path))

    async with serve_fake(fake, tls=True) as running:
        child = await Child.start()
        try:
            pids = [
                await child.spawn(credentials, kind, store_path, running)
                for _ in range(2)
            ]
            for pid in pids:
                await child.wait_for("saved", pid, "5")
            outcomes = [e.outcome for e in fake.journal if e.path == "/oauth2/token"]
            for pid in pids:
                await child.kill(pid)
        finally:
            await child.stop()

    assert len(outcomes) >= 10
    assert set(outcomes) == {"rotated"}
