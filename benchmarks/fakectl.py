"""The fake gateway's control API (``/_fake/...``) and the journal arithmetic on it."""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.processes import Server, console_script, server

CLUSTER = "US-2"
APP_TYPE = "network_operations"
DATA_PATHS = (
    "/central/v2/sites",
    "/platform/device_inventory/v1/devices",
    "/monitoring/v2/aps",
    "/monitoring/v1/switches",
    "/monitoring/v1/gateways",
)
OAUTH_ENDPOINT = "/oauth2/token"
UNLIMITED_PER_SECOND = 1_000_000
UNLIMITED_PER_DAY = 1_000_000_000


class ControlError(RuntimeError):
    """The fake answered a control call with an error status."""


@dataclass(frozen=True)
class Tenant:
    """An app created on the fake, with its freshly minted token pair."""

    client_id: str
    customer_id: str
    gateway_url: str
    credentials: dict[str, str]

    def write(self, path: Path) -> Path:
        """The credentials file the connector and its CLI read (five keys)."""
        path.write_text(json.dumps(self.credentials, indent=2), encoding="utf-8")
        path.chmod(0o600)
        return path


class FakeControl:
    """Calls on one running fake, through a session the caller owns."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self._session = session
        self._base = base_url.rstrip("/")

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        url = f"{self._base}/_fake/{path.lstrip('/')}"
        async with self._session.request(method, url, json=body) as response:
            text = await response.text()
            if response.status >= 400:
                raise ControlError(f"{method} /_fake/{path}: {response.status} {text}")
            return json.loads(text) if text else None

    async def configure(self, **changes: Any) -> Any:
        return await self.call("POST", "config", changes)

    async def lift_limits(self) -> Any:
        """Rate limit off, and the budgets its headers still report raised out of reach.

        With enforcement off the fake keeps sending ``X-RateLimit-*`` headers, and
        a client that obeys them would still pace itself to the reported 7/s.
        """
        return await self.configure(
            rate_limit_enabled=False,
            per_second_limit=UNLIMITED_PER_SECOND,
            per_day_limit=UNLIMITED_PER_DAY,
        )

    async def clock(self, **change: Any) -> Any:
        return await self.call("POST", "clock", change)

    async def tenant(self, *, cluster: str = CLUSTER) -> Tenant:
        app = await self.call(
            "POST", "apps", {"cluster": cluster, "app_type": APP_TYPE}
        )
        pair = await self.call("POST", f"apps/{app['client_id']}/tokens")
        credentials = {
            "gateway_url": app["gateway_url"],
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "access_token": pair["access_token"],
            "refresh_token": pair["refresh_token"],
        }
        return Tenant(
            app["client_id"], app["customer_id"], app["gateway_url"], credentials
        )

    async def load_inventory(
        self, customer_id: str, *, sites: int, devices: int, seed: int = 1
    ) -> Any:
        body = {"customer_id": customer_id, "sites": sites, "devices": devices}
        return await self.call("POST", "inventory", {**body, "seed": seed})

    async def journal(self, since: int = 0) -> list[dict[str, Any]]:
        answer = await self.call("GET", f"journal?since={since}")
        entries: list[dict[str, Any]] = answer["entries"]
        return entries

    async def last_seq(self) -> int:
        entries = await self.journal()
        return max((int(e["seq"]) for e in entries), default=0)


def data_requests(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Journal entries for the Central data paths (not tokens, not /_fake/)."""
    return [e for e in entries if e["path"] in DATA_PATHS]


def refreshes(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Journal entries of refresh-token grants that rotated the pair."""
    return [
        e
        for e in entries
        if e["path"] == OAUTH_ENDPOINT
        and e.get("grant") == "refresh_token"
        and e.get("outcome") == "rotated"
    ]


@dataclass(frozen=True)
class RunningFake:
    """A fake gateway in a child process, and the means to drive it."""

    server: Server
    control: FakeControl
    ca_file: Path | None

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def port(self) -> int:
        return self.server.port


@asynccontextmanager
async def running_fake(
    folder: Path, *, tls: bool = False, name: str = "fake"
) -> AsyncIterator[RunningFake]:
    """``fake-central serve`` on 127.0.0.1 with a free port, stopped on exit."""
    ca_file = folder / f"{name}-ca.pem" if tls else None
    argv = [
        *console_script("fake-central", "fake_central.cli"),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--default-cluster",
        CLUSTER,
        "--credentials-out",
        str(folder / f"{name}-demo-credentials.json"),
    ]
    if ca_file is not None:
        argv += ["--tls", "--ca-out", str(ca_file)]

    async with (
        server(argv, folder / f"{name}.log") as child,
        aiohttp.ClientSession(connector=_control_connector(ca_file)) as session,
    ):
        yield RunningFake(child, FakeControl(session, child.url), ca_file)


def _control_connector(ca_file: Path | None) -> aiohttp.TCPConnector:
    if ca_file is None:
        return aiohttp.TCPConnector()
    return aiohttp.TCPConnector(ssl=ssl.create_default_context(cafile=str(ca_file)))
