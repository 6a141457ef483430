"""The Classic Central API-gateway clusters and how a Host header picks one.

The hostnames follow no pattern, so they live in a table (reference §5a). Requests
addressed to a loopback host (``127.0.0.1``, ``localhost``, ``::1``) go to the
fake's default cluster; any other unknown host is refused by the HTTP layer with a
message naming the known clusters.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["CLUSTERS", "LOOPBACK", "UNKNOWN_HOST", "ClusterResolver", "cluster_name"]

CLUSTERS: Mapping[str, str] = MappingProxyType(
    {
        "US-1": "app1-apigw.central.arubanetworks.com",
        "US-2": "apigw-prod2.central.arubanetworks.com",
        "US-East1": "apigw-us-east-1.central.arubanetworks.com",
        "US-West4": "apigw-uswest4.central.arubanetworks.com",
        "US-West5": "apigw-uswest5.central.arubanetworks.com",
        "EU-1": "eu-apigw.central.arubanetworks.com",
        "EU-Central2": "apigw-eucentral2.central.arubanetworks.com",
        "EU-Central3": "apigw-eucentral3.central.arubanetworks.com",
        "Canada-1": "apigw-ca.central.arubanetworks.com",
        "China-1": "apigw.central.arubanetworks.com.cn",
        "APAC-1": "api-ap.central.arubanetworks.com",
        "APAC-EAST1": "apigw-apaceast.central.arubanetworks.com",
        "APAC-SOUTH1": "apigw-apacsouth.central.arubanetworks.com",
        "UAE-NORTH1": "apigw-uaenorth1.central.arubanetworks.com",
        "Internal": "internal-apigw.central.arubanetworks.com",
    }
)
"""Cluster name -> API-gateway hostname, exactly as in reference §5a."""

LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1", ""})
UNKNOWN_HOST = "unknown"

_BY_FOLDED_NAME = {name.casefold(): name for name in CLUSTERS}


def cluster_name(name: str) -> str | None:
    """The canonical spelling of a cluster name, matched case-insensitively."""
    return _BY_FOLDED_NAME.get(name.casefold())


def _bare_host(host_header: str) -> str:
    """Lower-cased host without port, brackets or trailing dot."""
    host = host_header.strip().lower()
    if host.startswith("["):
        host = host[1 : host.find("]")] if "]" in host else host[1:]
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    return host.rstrip(".")


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ClusterResolver:
    """Maps Host header values to cluster names, with a cache for the hot path."""

    def __init__(self, default_cluster: str, aliases: Mapping[str, str]) -> None:
        self._default = default_cluster
        self._by_host = {host: name for name, host in CLUSTERS.items()}
        self._by_host.update({host.lower(): name for host, name in aliases.items()})
        self._cache: dict[str, str] = {}

    def resolve(self, host_header: str | None) -> str:
        """The cluster a Host header addresses, or ``UNKNOWN_HOST``."""
        key = host_header or ""
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        host = _bare_host(key)
        if host in self._by_host:
            found = self._by_host[host]
        elif _is_loopback(host):
            found = self._default
        else:
            found = UNKNOWN_HOST
        if len(self._cache) < 1024:
            self._cache[key] = found
        return found
