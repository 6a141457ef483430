"""The connector pointed at a fake in a child process, as the benchmarks use it."""

from __future__ import annotations

from pathlib import Path

from connector import CentralClient, Credentials, JsonFileTokenStore
from connector.pacing import DEFAULT_RATE_PER_SECOND

UNPACED_RATE = 10_000.0
"""For runs against a fake whose rate limit is off: far above anything it serves."""


def client_for(
    credentials: Path,
    port: int,
    ca_file: Path | None,
    store: Path,
    *,
    rate_per_second: float = DEFAULT_RATE_PER_SECOND,
    timeout: float = 30.0,
) -> CentralClient:
    """A ``CentralClient`` dialling 127.0.0.1:``port`` for the gateway host."""
    return CentralClient(
        Credentials.from_file(credentials),
        store=JsonFileTokenStore(store),
        connect_to=("127.0.0.1", port),
        ca_file=ca_file,
        timeout=timeout,
        rate_per_second=rate_per_second,
    )
