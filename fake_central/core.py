"""``FakeCentral``: the whole fake gateway's state behind one object.

It owns the apps and tokens (``TokenBook``), the rate-limit budgets
(``RateLimiter``), the tenants' data (``Tenant``), the armed faults
(``FaultBook``), the journal and the configuration, all driven by one
``FakeClock``. The aiohttp application (``fake_central.app.make_app``) is a thin
HTTP skin over this object; tests and scenarios may use either.
"""

from __future__ import annotations

import logging
import random
import secrets
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from fake_central.clock import FakeClock
from fake_central.clusters import CLUSTERS, ClusterResolver, cluster_name
from fake_central.config import FakeConfig
from fake_central.errors import (
    CustomerClusterConflict,
    UnknownAppType,
    UnknownCluster,
    UnknownCustomer,
)
from fake_central.faults import FaultBook, FaultSpec
from fake_central.journal import Journal, JournalEntry
from fake_central.oauth import AppInfo, TokenBook, TokenPair, gateway_url, new_token
from fake_central.ratelimit import RateLimiter
from fake_central.sensitive import MASK
from fake_central.tenant import Tenant

if TYPE_CHECKING:
    from aiohttp import web

__all__ = ["DEMO_DEVICES", "DEMO_SITES", "FakeCentral"]

logger = logging.getLogger("fake_central.state")

DEMO_SITES = 36
DEMO_DEVICES = 420


class FakeCentral:
    """A fake HPE Aruba Central (Classic) API gateway, usable in-process.

    >>> fake = FakeCentral()
    >>> app = fake.create_app(cluster="US-2", app_type="network_operations")
    >>> pair = fake.mint(app.client_id)
    >>> tenant = fake.load_inventory(app.customer_id, sites=3, devices=10, seed=1)
    >>> len(tenant.sites)
    3
    """

    def __init__(
        self, config: FakeConfig | None = None, clock: FakeClock | None = None
    ):
        self.clock = clock if clock is not None else FakeClock()
        self._initial_config = config if config is not None else FakeConfig()
        self.server_errors: list[BaseException] = []
        self.sleeper: Callable[[float], Awaitable[None]] | None = None
        """What ``delay`` faults await (None: real time, cut short at shutdown).
        Tests may set a recorder here so delays cost no real time."""
        self._build(self._initial_config)

    def _build(self, config: FakeConfig) -> None:
        self.config = config
        self.tokens = TokenBook(self.clock, config)
        self.limiter = RateLimiter(self.clock, config)
        self.faults = FaultBook()
        self.resolver = ClusterResolver(config.default_cluster, config.host_aliases)
        self._journal = Journal(config.journal_size)
        self._tenants: dict[str, Tenant] = {}
        self._customers: dict[str, str] = {}

    # -- configuration --------------------------------------------------------------

    def configure(self, **changes: Any) -> FakeConfig:
        """Apply a validated partial update to the configuration."""
        config = self.config.merged(changes)
        self.config = self.tokens.config = self.limiter.config = config
        self.resolver = ClusterResolver(config.default_cluster, config.host_aliases)
        self._journal.resize(config.journal_size)
        for tenant in self._tenants.values():
            tenant.casing = config.device_type_casing
        logger.info("configuration changed: %s", ", ".join(sorted(changes)))
        return config

    def reset(self) -> None:
        """Forget every app, token, tenant, fault, budget and journal entry.

        The configuration returns to the one given at construction; the clock is
        left alone (it is shared with whoever injected it).
        """
        self._build(self._initial_config)
        self.server_errors.clear()
        logger.info("fake reset")

    # -- apps and tokens ------------------------------------------------------------

    def create_app(
        self,
        cluster: str = "US-2",
        app_type: str = "network_operations",
        customer_id: str | None = None,
    ) -> AppInfo:
        """Register an API client in ``cluster`` for ``customer_id`` (new if None)."""
        canonical = cluster_name(cluster)
        if canonical is None:
            raise UnknownCluster(cluster, list(CLUSTERS))
        if app_type not in self.config.app_types:
            raise UnknownAppType(app_type, list(self.config.app_types))
        customer = customer_id or secrets.token_hex(16)
        home = self._customers.setdefault(customer, canonical)
        if home != canonical:
            raise CustomerClusterConflict(customer, home, canonical)
        info = AppInfo(
            client_id=new_token(),
            client_secret=new_token(),
            customer_id=customer,
            cluster=canonical,
            gateway_url=gateway_url(canonical),
            app_type=app_type,
        )
        self.tokens.add_app(info)
        logger.info("app %s created in %s (%s)", info.client_id, canonical, app_type)
        return info

    def mint(self, client_id: str) -> TokenPair:
        """ "Generate New Token" for an app; ``MintRefused`` inside the window."""
        return self.tokens.mint(client_id)

    def refresh_count(self, client_id: str | None = None) -> int:
        """Successful refresh-token rotations (for one client id, or all)."""
        return self.tokens.refresh_count(client_id)

    def app_status(self, client_id: str) -> dict[str, Any]:
        """An app's public facts and budgets, the secret masked."""
        info = self.tokens.app(client_id)
        key = self.limiter.key_for(info.client_id, info.customer_id)
        return {
            **info.model_dump(),
            "client_secret": MASK,
            "mint_retry_after": self.tokens.mint_retry_after(client_id),
            "refreshes": self.tokens.refresh_count(client_id),
            "live_refresh_tokens": self.tokens.live_pairs(client_id),
            "rate_limit_remaining": self.limiter.remaining(key),
        }

    # -- tenants --------------------------------------------------------------------

    def load_inventory(
        self,
        customer_id: str,
        sites: int,
        devices: int,
        seed: int = 0,
        unmonitored_fraction: float = 0.05,
    ) -> Tenant:
        """Replace a customer's data with a deterministic tenant from ``seed``."""
        cluster = self._customers.get(customer_id)
        if cluster is None:
            raise UnknownCustomer(customer_id)
        tenant = Tenant.generate(
            customer_id,
            cluster,
            sites=sites,
            devices=devices,
            seed=seed,
            unmonitored_fraction=unmonitored_fraction,
        )
        tenant.casing = self.config.device_type_casing
        self._tenants[customer_id] = tenant
        logger.info(
            "tenant %s loaded: %d sites, %d devices", customer_id, sites, devices
        )
        return tenant

    def tenant(self, customer_id: str) -> Tenant:
        """The customer's data (an empty tenant until inventory is loaded)."""
        tenant = self._tenants.get(customer_id)
        if tenant is None:
            cluster = self._customers.get(customer_id)
            if cluster is None:
                raise UnknownCustomer(customer_id)
            tenant = self._tenants[customer_id] = Tenant(customer_id, cluster)
            tenant.casing = self.config.device_type_casing
        return tenant

    def tenant_or_none(self, customer_id: str) -> Tenant | None:
        return self._tenants.get(customer_id)

    # -- faults and journal -----------------------------------------------------------

    def arm_fault(self, spec: FaultSpec | dict[str, Any]) -> str:
        """Arm a fault (a ``FaultSpec`` or its JSON form); returns its id."""
        if not isinstance(spec, FaultSpec):
            spec = FaultSpec.model_validate(spec)
        fault_id = self.faults.arm(spec)
        logger.info("fault %s armed (%s)", fault_id, spec.action.kind)
        return fault_id

    def clear_faults(self) -> int:
        """Disarm every fault; returns how many there were."""
        return self.faults.clear()

    @property
    def journal(self) -> list[JournalEntry]:
        """Every recorded exchange, oldest first (bounded by ``journal_size``)."""
        return self._journal.entries()

    def journal_since(self, seq: int = 0, **filters: Any) -> list[JournalEntry]:
        """Entries after ``seq``; filters: ``client_id``, ``path``, ``limit``."""
        return self._journal.entries(seq, **filters)

    @property
    def journal_log(self) -> Journal:
        """The journal store itself (the HTTP layer records through it)."""
        return self._journal

    # -- convenience ------------------------------------------------------------------

    def demo(self, seed: int = 0) -> dict[str, str]:
        """A demo tenant on the default cluster and a freshly minted pair.

        Returns exactly the five values a user pastes into an integration.
        """
        customer_id = f"{random.Random(seed).getrandbits(128):032x}"
        app = self.create_app(
            self.config.default_cluster, "network_operations", customer_id
        )
        self.load_inventory(
            customer_id, sites=DEMO_SITES, devices=DEMO_DEVICES, seed=seed
        )
        pair = self.mint(app.client_id)
        return {
            "gateway_url": app.gateway_url,
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "access_token": pair.access_token,
            "refresh_token": pair.refresh_token,
        }

    def make_app(self) -> web.Application:
        """The aiohttp application serving this fake."""
        from fake_central.app import make_app  # deferred: app imports core

        return make_app(self)

    def __repr__(self) -> str:
        return (
            f"<FakeCentral apps={len(self.tokens.apps())} tenants={len(self._tenants)} "
            f"clock={self.clock!r}>"
        )
