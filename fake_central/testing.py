"""Run the fake for tests: on the caller's loop, or on its own loop in a thread.

::

    async with serve_fake(fake, tls=True) as running:
        running.url                 # https://127.0.0.1:PORT (the /_fake/ base)
        running.gateway_url("US-2") # https://apigw-prod2.central.arubanetworks.com
        running.ca_file             # PEM of the throwaway CA (tls=True only)

    with serve_fake_in_thread(fake) as running:   # for sync callers
        ...

Servers bind loopback on port 0 and close idempotently. If a handler failed
unexpectedly (a bug in the fake), closing re-raises it as ``FakeServerError`` so
the test that provoked it fails instead of passing on a 500.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from fake_central.app import make_app
from fake_central.clusters import CLUSTERS
from fake_central.core import FakeCentral
from fake_central.errors import FakeServerError
from fake_central.tls import client_context, tls_material

__all__ = [
    "FakeResolver",
    "FakeServer",
    "RunningFake",
    "serve_fake",
    "serve_fake_in_thread",
]

_SHUTDOWN_TIMEOUT = 1.0


@dataclass(frozen=True)
class RunningFake:
    """Where a started fake listens, and how to reach it."""

    fake: FakeCentral
    host: str
    port: int
    url: str
    ca_file: Path | None = None

    def gateway_url(self, cluster: str = "US-2") -> str:
        """The cluster's real gateway URL (dial ``host:port``, verify this name)."""
        return f"https://{CLUSTERS[cluster]}"

    def ssl_context(self) -> ssl.SSLContext:
        """A verifying client context trusting the fake's CA (tls=True only)."""
        if self.ca_file is None:
            raise RuntimeError("this fake serves plain HTTP; start it with tls=True")
        return client_context(self.ca_file)

    def resolver(self) -> FakeResolver:
        """An aiohttp resolver sending every cluster hostname to this fake."""
        return FakeResolver(self.host, self.port)


class FakeResolver(AbstractResolver):
    """Resolves any hostname to the fake's loopback address (and port).

    Give it to ``aiohttp.TCPConnector(resolver=...)`` to reach the fake through
    real cluster URLs such as ``https://apigw-prod2.central.arubanetworks.com``.
    """

    def __init__(self, host: str, port: int) -> None:
        self._host, self._port = host, port

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            {
                "hostname": host,
                "host": self._host,
                "port": self._port,
                "family": socket.AF_INET6 if ":" in self._host else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
        ]

    async def close(self) -> None:
        return None


class FakeServer:
    """An async context manager serving a fake on loopback (port 0 by default)."""

    def __init__(
        self,
        fake: FakeCentral | None = None,
        *,
        tls: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
        raise_server_errors: bool = True,
        ca_out: Path | None = None,
    ) -> None:
        self.fake = fake if fake is not None else FakeCentral()
        self._tls, self._host, self._port = tls, host, port
        self._raise = raise_server_errors
        self._ca_out = ca_out
        self._runner: web.AppRunner | None = None
        self._tmp: Path | None = None
        self._running: RunningFake | None = None

    async def start(self) -> RunningFake:
        """Start listening (once); returns where."""
        if self._running is not None:
            return self._running
        runner = web.AppRunner(
            make_app(self.fake), access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT
        )
        await runner.setup()
        self._runner = runner
        context, ca_file = self._tls_setup()
        site = web.TCPSite(runner, self._host, self._port, ssl_context=context)
        await site.start()
        port = int(runner.addresses[0][1])
        scheme = "https" if self._tls else "http"
        host = f"[{self._host}]" if ":" in self._host else self._host
        url = f"{scheme}://{host}:{port}"
        self._running = RunningFake(self.fake, self._host, port, url, ca_file)
        return self._running

    def _tls_setup(self) -> tuple[ssl.SSLContext | None, Path | None]:
        if not self._tls:
            return None, None
        material = tls_material(self.fake.config.host_aliases)
        if self._ca_out is not None:
            return material.server_context(), material.write_ca(self._ca_out)
        self._tmp = Path(tempfile.mkdtemp(prefix="fake-central-"))
        ca_file = material.write_ca(self._tmp / "ca.pem")
        return material.server_context(), ca_file

    async def close(self) -> None:
        """Stop listening and remove the CA file; safe to call more than once."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
        self._running = None
        if self._raise and self.fake.server_errors:
            first = self.fake.server_errors[0]
            self.fake.server_errors.clear()
            raise FakeServerError(
                f"the fake failed while answering a request: {first!r}"
            ) from first

    async def __aenter__(self) -> RunningFake:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()


def serve_fake(
    fake: FakeCentral | None = None,
    *,
    tls: bool = False,
    host: str = "127.0.0.1",
    port: int = 0,
    raise_server_errors: bool = True,
) -> FakeServer:
    """Serve ``fake`` on the running loop: ``async with serve_fake(fake) as running``."""
    return FakeServer(
        fake, tls=tls, host=host, port=port, raise_server_errors=raise_server_errors
    )


@contextmanager
def serve_fake_in_thread(
    fake: FakeCentral | None = None,
    *,
    tls: bool = False,
    host: str = "127.0.0.1",
    port: int = 0,
    raise_server_errors: bool = True,
) -> Iterator[RunningFake]:
    """Serve ``fake`` on a private loop in a daemon thread (for sync callers)."""
    server = FakeServer(
        fake, tls=tls, host=host, port=port, raise_server_errors=raise_server_errors
    )
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fake-central", daemon=True)
    thread.start()
    try:
        yield _run(loop, server.start())
    finally:
        try:
            _run(loop, server.close())
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            loop.close()


def _run(loop: asyncio.AbstractEventLoop, coroutine: Any) -> Any:
    return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=30)
