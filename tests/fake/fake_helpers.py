"""Helpers shared by the fake gateway's tests: paths, a start time, a client."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
from multidict import CIMultiDictProxy

from fake_central import CLUSTERS, AppInfo
from fake_central.testing import RunningFake

START = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
SITES = "/central/v2/sites"
INVENTORY = "/platform/device_inventory/v1/devices"
APS = "/monitoring/v2/aps"
SWITCHES = "/monitoring/v1/switches"
GATEWAYS = "/monitoring/v1/gateways"
TOKEN = "/oauth2/token"
API_PATHS = (SITES, INVENTORY, APS, SWITCHES, GATEWAYS)


@dataclass(frozen=True)
class Reply:
    """What came back: status, headers and the raw body text."""

    status: int
    headers: CIMultiDictProxy[str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


class Gateway:
    """A thin client for the served fake, speaking as a Central client would."""

    def __init__(self, session: aiohttp.ClientSession, running: RunningFake) -> None:
        self.session = session
        self.running = running

    async def request(
        self,
        method: str,
        path: str,
        *,
        cluster: str | None = None,
        host: str | None = None,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> Reply:
        sent = dict(headers or {})
        if cluster is not None:
            sent["Host"] = CLUSTERS[cluster]
        if host is not None:
            sent["Host"] = host
        url = self.running.url + path
        async with self.session.request(
            method, url, headers=sent, **kwargs
        ) as response:
            return Reply(response.status, response.headers, await response.text())

    async def get(
        self,
        path: str,
        token: str | None = None,
        params: Mapping[str, str] | list[tuple[str, str]] | None = None,
        **kwargs: Any,
    ) -> Reply:
        headers = dict(kwargs.pop("headers", None) or {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return await self.request("GET", path, params=params, headers=headers, **kwargs)

    async def refresh(
        self,
        app: AppInfo,
        refresh_token: str,
        *,
        style: str = "query",
        client_secret: str | None = None,
        cluster: str | None = None,
    ) -> Reply:
        params = {
            "client_id": app.client_id,
            "client_secret": client_secret
            if client_secret is not None
            else app.client_secret,
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
        }
        cluster = cluster or app.cluster
        if style == "json":
            return await self.request("POST", TOKEN, json=params, cluster=cluster)
        if style == "form":
            return await self.request("POST", TOKEN, data=params, cluster=cluster)
        return await self.request("POST", TOKEN, params=params, cluster=cluster)

    async def control(
        self, method: str, path: str, body: Any = None, **kwargs: Any
    ) -> Reply:
        if body is not None:
            kwargs["json"] = body
        return await self.request(method, "/_fake" + path, **kwargs)
