"""The reference server: a bare aiohttp handler that returns a fixed JSON document.

Usage: ``python -m benchmarks.bare_server --payload FILE``

It serves ``GET /central/v2/sites`` on 127.0.0.1 with a free port, answering every
request with the bytes of ``FILE`` (a sites page captured from the fake, so the body
is the same size) as ``application/json``. The bytes are encoded once, as the fake
caches its page encodings too. No auth, no rate limit, no journal, no JSON work per
request: the floor the fake's throughput is measured against.
It prints its URL, then serves until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from pathlib import Path

from aiohttp import web

PAYLOAD = web.AppKey("payload", bytes)


async def sites_page(request: web.Request) -> web.Response:
    return web.Response(body=request.app[PAYLOAD], content_type="application/json")


async def serve(payload: bytes) -> None:
    app = web.Application()
    app[PAYLOAD] = payload
    app.router.add_get("/central/v2/sites", sites_page)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()

    port = runner.addresses[0][1]
    print(f"bare handler serving on http://127.0.0.1:{port}", flush=True)

    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopped.set)
    await stopped.wait()
    await runner.cleanup()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payload", type=Path, required=True)
    args = parser.parse_args()

    payload = args.payload.read_bytes()
    json.loads(payload)  # refuse to serve anything but JSON
    asyncio.run(serve(payload))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
