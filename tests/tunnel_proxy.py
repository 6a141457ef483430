"""A small HTTP proxy for tests: it answers CONNECT by tunnelling to one address.

Real proxies look at the CONNECT target and dial it; this one dials the served
fake whatever the target, so a client that names the real gateway host reaches
the fake and still verifies its certificate end to end. It records every CONNECT
target and ``Proxy-Authorization`` header, can demand basic credentials (407
otherwise), and can refuse every tunnel with a status of choice.
``tunnel_proxy_in_thread`` runs one on its own loop, for the command line's tests.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import queue
import threading
from collections.abc import Iterator
from types import TracebackType
from typing import Any, Self


class TunnelProxy:
    """``async with TunnelProxy(("127.0.0.1", port)) as proxy: proxy.url``."""

    def __init__(
        self,
        target: tuple[str, int],
        *,
        credentials: tuple[str, str] | None = None,
        refuse_with: int | None = None,
    ) -> None:
        self.target = target
        self.credentials = credentials
        self.refuse_with = refuse_with
        self.tunnels: list[str] = []
        self.authorizations: list[str | None] = []
        self.port = 0
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    def url(self, userinfo: str = "") -> str:
        return f"http://{userinfo}127.0.0.1:{self.port}"

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        await self._server.wait_closed()

    async def _accept(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._handlers.discard(task)
            writer.close()

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        request, *lines = head.split("\r\n")
        method, target, _ = request.split(" ", 2)
        headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in lines if line)
        }
        if method != "CONNECT":
            await _answer(writer, "405 Method Not Allowed")
            return
        self.tunnels.append(target)
        self.authorizations.append(headers.get("proxy-authorization"))
        if self.credentials is not None and not self._authorised(headers):
            await _answer(
                writer,
                "407 Proxy Authentication Required",
                'Proxy-Authenticate: Basic realm="tests"\r\n',
            )
            return
        if self.refuse_with is not None:
            await _answer(writer, f"{self.refuse_with} Refused By Test Proxy")
            return

        upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        try:
            await _answer(writer, "200 Connection Established", close=False)
            await asyncio.gather(
                _pipe(reader, upstream_writer), _pipe(upstream_reader, writer)
            )
        finally:
            upstream_writer.close()

    def _authorised(self, headers: dict[str, str]) -> bool:
        assert self.credentials is not None
        user, password = self.credentials
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        return headers.get("proxy-authorization") == f"Basic {token}"


async def _answer(
    writer: asyncio.StreamWriter, status: str, extra: str = "", *, close: bool = True
) -> None:
    length = "Content-Length: 0\r\n" if close else ""
    writer.write(f"HTTP/1.1 {status}\r\n{extra}{length}\r\n".encode("latin-1"))
    await writer.drain()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()


@contextlib.contextmanager
def tunnel_proxy_in_thread(
    target: tuple[str, int], **options: Any
) -> Iterator[TunnelProxy]:
    """A :class:`TunnelProxy` on its own event loop in a thread, for sync callers."""
    ready: queue.Queue[TunnelProxy | BaseException] = queue.Queue()
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def run() -> None:
        try:
            async with TunnelProxy(target, **options) as proxy:
                ready.put(proxy)
                await stop.wait()
        except BaseException as exc:  # reported to the caller below
            ready.put(exc)

    thread = threading.Thread(target=loop.run_until_complete, args=(run(),))
    thread.start()
    started = ready.get(timeout=10)
    try:
        if isinstance(started, BaseException):
            raise started
        yield started
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=10)
        loop.close()
