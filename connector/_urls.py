"""The gateway-URL allowlist.

A gateway URL is accepted only as ``https://HOST``: no trailing slash, path,
query, fragment, user info, port or IP literal. HOST is case-folded and
IDNA-normalised (UTS #46, the mapping browsers and ``yarl`` use), and the result
must sit under ``.central.arubanetworks.com`` or ``.central.arubanetworks.com.cn``
on a label boundary. The normalised form is what the connector dials and what TLS
verifies, so the host that was checked is the host that is used.

Cluster hostnames follow no pattern and new clusters appear, so the rule is the
domain suffix, not a list; :data:`CLASSIC_CLUSTERS` is kept for documentation
and tests.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata

import idna

from connector._sensitive import MASK, is_sensitive
from connector.errors import InvalidGatewayURL

__all__ = [
    "ALLOWED_SUFFIXES",
    "CLASSIC_CLUSTERS",
    "gateway_host",
    "normalise_gateway_url",
]

ALLOWED_SUFFIXES: tuple[str, ...] = (
    ".central.arubanetworks.com",
    ".central.arubanetworks.com.cn",
)

#: The Classic Central API gateways known today, cluster name -> hostname.
CLASSIC_CLUSTERS: dict[str, str] = {
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

_SCHEME_SEPARATOR = "://"
_AUTHORITY_ENDS = "/?#\\"
_ASCII_HOST = re.compile(r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?")
_SHOWN_LIMIT = 120


def normalise_gateway_url(value: object) -> str:
    """``value`` as ``https://host`` with host normalised, or ``InvalidGatewayURL``."""
    if not isinstance(value, str):
        raise InvalidGatewayURL(f"of type {type(value).__name__}", "must be text")
    shown = _shown(value)
    if not value:
        raise InvalidGatewayURL(shown, "is empty")
    if any(_is_space_or_control(char) for char in value):
        raise InvalidGatewayURL(shown, "contains spaces or control characters")

    authority = _authority(value, shown)
    host = _normalised_host(authority, shown)
    return f"https://{host}"


def gateway_host(gateway_url: str) -> str:
    """The host of an already normalised gateway URL."""
    return gateway_url.removeprefix("https://")


def _authority(value: str, shown: str) -> str:
    """The part between ``https://`` and the end, refusing anything but a host."""
    scheme, separator, rest = value.partition(_SCHEME_SEPARATOR)
    if not separator:
        raise InvalidGatewayURL(shown, "must start with https://")
    if scheme.lower() == "http":
        raise InvalidGatewayURL(shown, "must use https, not http")
    if scheme.lower() != "https":
        raise InvalidGatewayURL(shown, "must start with https://")

    end = next((i for i, char in enumerate(rest) if char in _AUTHORITY_ENDS), None)
    authority = rest if end is None else rest[:end]
    if end is not None:
        raise InvalidGatewayURL(shown, _what_follows_host(rest[end:]))
    if "@" in authority:
        raise InvalidGatewayURL(
            shown, "must not contain user info (the part before '@')"
        )
    if authority.startswith("["):
        raise InvalidGatewayURL(shown, "must name a host, not an IP address")
    if ":" in authority:
        raise InvalidGatewayURL(shown, "must not contain a port")
    if "%" in authority:
        raise InvalidGatewayURL(shown, "must not contain percent-encoded characters")
    if not authority:
        raise InvalidGatewayURL(shown, "has no host after https://")
    return authority


def _what_follows_host(tail: str) -> str:
    # A lone "/" is the commonest paste mistake: say so plainly.
    if tail == "/":
        return "must not end with a slash"
    if tail.startswith("/"):
        return "must not contain a path"
    if tail.startswith("?"):
        return "must not contain a query"
    if tail.startswith("#"):
        return "must not contain a fragment"
    return "must not contain a backslash"


def _normalised_host(authority: str, shown: str) -> str:
    """Case-fold and IDNA-normalise, then apply the IP and suffix rules."""
    if _is_ip_literal(authority):
        raise InvalidGatewayURL(shown, "must name a host, not an IP address")
    try:
        host = idna.encode(authority, uts46=True, std3_rules=True).decode("ascii")
    except idna.IDNAError as exc:
        raise InvalidGatewayURL(shown, f"has an invalid host name ({exc})") from None

    if host.endswith("."):
        raise InvalidGatewayURL(shown, "must not end with a dot")
    if _is_ip_literal(host):
        raise InvalidGatewayURL(shown, "must name a host, not an IP address")
    if not _ASCII_HOST.fullmatch(host):
        raise InvalidGatewayURL(shown, "has an invalid host name")
    if not any(host.endswith(suffix) for suffix in ALLOWED_SUFFIXES):
        raise InvalidGatewayURL(
            shown,
            f"names host {host!r}, which is not a Central API gateway (the host must "
            "end in .central.arubanetworks.com or .central.arubanetworks.com.cn)",
        )
    return host


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _is_space_or_control(char: str) -> bool:
    return char.isspace() or unicodedata.category(char).startswith("C")


def _shown(value: str) -> str:
    """``value`` quoted for a message: user info and sensitive query values masked."""
    shown = value
    scheme, separator, rest = value.partition(_SCHEME_SEPARATOR)
    if separator:
        authority_end = next(
            (i for i, char in enumerate(rest) if char in _AUTHORITY_ENDS), len(rest)
        )
        authority, tail = rest[:authority_end], rest[authority_end:]
        if "@" in authority:
            authority = f"{MASK}@{authority.rpartition('@')[2]}"
        shown = f"{scheme}{separator}{authority}{_masked_query(tail)}"
    if len(shown) > _SHOWN_LIMIT:
        shown = shown[:_SHOWN_LIMIT] + "..."
    return repr(shown)


def _masked_query(tail: str) -> str:
    path, question, query = tail.partition("?")
    if not question:
        return tail
    query, hash_mark, fragment = query.partition("#")
    parts = []
    for part in query.split("&"):
        name, equals, _ = part.partition("=")
        parts.append(f"{name}={MASK}" if equals and is_sensitive(name) else part)
    return f"{path}?{'&'.join(parts)}{hash_mark}{fragment}"
