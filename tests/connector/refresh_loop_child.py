"""A child for the crash-safety test: forks refresh loops on command.

Starting Python and importing aiohttp costs most of a second, too much for
thirty kills, so this process imports the connector once and then forks one
refresh loop per command (it never runs an event loop itself, so forking is
safe). Commands on stdin, one per line::

    spawn CREDENTIALS STORE_KIND STORE_PATH PORT CA_FILE
        -> "forked PID"; the loop then prints "ready PID", and "saved PID N"
           after each refresh whose new pair is saved (N counts them)
    reap PID
        -> "reaped PID" once that loop has ended (the test kills it first)

Every line goes to stdout with one ``os.write``, so lines from the loops and
from this process never interleave mid-line.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from connector import CentralClient, Credentials, JsonFileTokenStore, SqliteTokenStore
from connector.tokens import TokenStore


def say(line: str) -> None:
    os.write(1, f"{line}\n".encode())


async def refresh_forever(
    credentials: Path, store: TokenStore, port: int, ca_file: Path
) -> None:
    pid = os.getpid()
    client = CentralClient(
        Credentials.from_file(credentials),
        store=store,
        connect_to=("127.0.0.1", port),
        ca_file=ca_file,
        rate_per_second=1000.0,
        timeout=5.0,
    )
    async with client:
        say(f"ready {pid}")
        saved = 0
        while True:
            await client.refresh_tokens()
            saved += 1
            say(f"saved {pid} {saved}")


def loop_main(arguments: list[str]) -> None:
    credentials, kind, store_path, port, ca_file = arguments
    store: TokenStore
    if kind == "json":
        store = JsonFileTokenStore(store_path)
    else:
        store = SqliteTokenStore(store_path)
    try:
        asyncio.run(refresh_forever(Path(credentials), store, int(port), Path(ca_file)))
    except Exception as exc:
        say(f"error {os.getpid()} {type(exc).__name__}")
        os._exit(1)


def main() -> None:
    say("zygote ready")
    for line in sys.stdin:
        command, *arguments = line.split()
        if command == "spawn":
            pid = os.fork()
            if pid == 0:
                sys.stdin.close()
                loop_main(arguments)
                os._exit(0)
            say(f"forked {pid}")
        elif command == "reap":
            os.waitpid(int(arguments[0]), 0)
            say(f"reaped {arguments[0]}")


if __name__ == "__main__":
    main()
