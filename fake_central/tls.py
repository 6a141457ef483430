"""Throwaway TLS: one trustme CA and one server certificate for every cluster host.

The certificate names every hostname in ``CLUSTERS`` (China-1's ``.com.cn`` one
included), any ``host_aliases``, and ``localhost``/``127.0.0.1``/``::1``, so a
client that dials 127.0.0.1 but verifies ``apigw-prod2.central.arubanetworks.com``
succeeds once it trusts the CA. Material is cached per set of names: making it
once per process keeps test servers cheap.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import trustme

from fake_central.clusters import CLUSTERS

__all__ = ["TlsMaterial", "client_context", "server_identities", "tls_material"]

_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class TlsMaterial:
    """A CA and the server certificate it signed."""

    ca: trustme.CA
    server_cert: trustme.LeafCert
    identities: tuple[str, ...]

    def server_context(self) -> ssl.SSLContext:
        """An SSL context for the fake's listening socket."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.server_cert.configure_cert(context)
        return context

    def write_ca(self, path: Path) -> Path:
        """Write the CA certificate (PEM) for clients to trust; returns the path."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.ca.cert_pem.write_to_path(str(path))
        return path


def server_identities(extra_hosts: Iterable[str] = ()) -> tuple[str, ...]:
    """Every name the server certificate must cover, in a stable order."""
    names = [*CLUSTERS.values(), *sorted(set(extra_hosts)), *_LOOPBACK_NAMES]
    return tuple(dict.fromkeys(names))


@functools.lru_cache(maxsize=8)
def _material(identities: tuple[str, ...]) -> TlsMaterial:
    ca = trustme.CA(organization_name="fake-central throwaway CA")
    cert = ca.issue_cert(*identities, common_name=identities[0])
    return TlsMaterial(ca, cert, identities)


def tls_material(extra_hosts: Iterable[str] = ()) -> TlsMaterial:
    """The (cached) CA and certificate for the cluster hosts plus ``extra_hosts``."""
    return _material(server_identities(extra_hosts))


def client_context(ca_file: Path) -> ssl.SSLContext:
    """A verifying client context that trusts only the CA in ``ca_file``."""
    return ssl.create_default_context(cafile=str(ca_file))
