"""A read-only async client for HPE Aruba Central (Classic) API gateways.

Public surface::

    from connector import (Credentials, CentralClient, TokenStore, StoredTokens,
                           JsonFileTokenStore, SqliteTokenStore, MemoryTokenStore,
                           RecentCallsStore, ClientStats, KeepAlive)
    from connector.errors import CentralError, ...        # the exception tree
    from connector.models import Site, SitesPage, ...     # typed pages

    creds = Credentials.from_file("central.json")
    async with CentralClient(creds, store=SqliteTokenStore("connector.db")) as client:
        page = await client.list_sites(offset=0, limit=1000)
        await client.keep_alive()  # daily: rotates the pair once it is 12 days old

Layers, bottom up: ``_sensitive`` (the one list of secret names), ``_urls`` (the
gateway allowlist), ``errors`` (the exception tree), ``credentials``, ``tokens``
(stores), ``_rate_headers`` and ``pacing``, ``auth`` (refresh), ``_transport``
(resolver, proxy, read-only guard, error translation), ``_answers`` (what an
answer means), ``models`` and ``client`` (``CentralClient``). ``sync``, ``store``
and ``cli`` sit on top.
Loggers are named after the modules (``connector.client``, ``connector.auth``,
...); the package installs only a ``NullHandler``.
"""

from __future__ import annotations

import logging

from connector.client import CentralClient, ClientStats, KeepAlive
from connector.credentials import Credentials
from connector.tokens import (
    JsonFileTokenStore,
    MemoryTokenStore,
    RecentCallsStore,
    SqliteTokenStore,
    StoredTokens,
    TokenStore,
)

__all__ = [
    "CentralClient",
    "ClientStats",
    "Credentials",
    "JsonFileTokenStore",
    "KeepAlive",
    "MemoryTokenStore",
    "RecentCallsStore",
    "SqliteTokenStore",
    "StoredTokens",
    "TokenStore",
]

logging.getLogger("connector").addHandler(logging.NullHandler())
