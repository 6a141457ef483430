"""A fake HPE Aruba Central (Classic) API gateway, for tests, CI and QA.

It simulates what a read-only Central integration meets: OAuth refresh with
rotation and the 30-minute mint rule, regional clusters chosen by Host header,
401/403/429 with the gateway's real bodies and rate-limit headers, paginated
sites, inventory and monitoring data generated from a seed, armed faults, and a
request journal with secrets masked, all on one controllable clock.

In-process::

    from fake_central import FakeCentral, FakeClock
    from fake_central.testing import serve_fake

    fake = FakeCentral(clock=FakeClock(frozen=True))
    app = fake.create_app(cluster="US-2", app_type="network_operations")
    pair = fake.mint(app.client_id)
    fake.load_inventory(app.customer_id, sites=40, devices=300, seed=1)
    async with serve_fake(fake, tls=True) as running:
        ...  # dial running.port, verify running.gateway_url("US-2")

Standalone: ``fake-central serve --port 0 --tls --ca-out ca.pem``. The HTTP
control API lives under ``/_fake/`` (see the README).

Modules: ``core`` (FakeCentral), ``app`` (aiohttp factory and dispatcher),
``api`` (Central handlers), ``control`` (``/_fake/``), ``oauth`` (apps, tokens),
``ratelimit``, ``tenant`` and ``datagen`` (data), ``faults``, ``journal``,
``clock``, ``clusters``, ``config``, ``sensitive``, ``tls``, ``testing``,
``cli``, ``errors`` (the exception tree); ``scenario`` and ``_scenario_steps``
(QA scenario files), ``replay`` and ``_replay_results`` (``fake-central replay``,
which drives the connector only through its command line).
"""

from __future__ import annotations

import logging

from fake_central.app import make_app
from fake_central.clock import FakeClock
from fake_central.clusters import CLUSTERS
from fake_central.config import FakeConfig
from fake_central.core import FakeCentral
from fake_central.errors import (
    CustomerClusterConflict,
    FakeCentralError,
    FakeServerError,
    MintRefused,
    UnknownAppType,
    UnknownClient,
    UnknownCluster,
    UnknownCustomer,
)
from fake_central.faults import FaultSpec
from fake_central.journal import JournalEntry
from fake_central.oauth import AppInfo, TokenPair
from fake_central.tenant import Tenant

__all__ = [
    "CLUSTERS",
    "AppInfo",
    "CustomerClusterConflict",
    "FakeCentral",
    "FakeCentralError",
    "FakeClock",
    "FakeConfig",
    "FakeServerError",
    "FaultSpec",
    "JournalEntry",
    "MintRefused",
    "Tenant",
    "TokenPair",
    "UnknownAppType",
    "UnknownClient",
    "UnknownCluster",
    "UnknownCustomer",
    "make_app",
]

logging.getLogger("fake_central").addHandler(logging.NullHandler())
