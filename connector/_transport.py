"""The pieces under ``CentralClient``'s one HTTP method (``CentralClient._send``).

* :class:`GatewayResolver` resolves the gateway host (and an HTTP proxy's, when
  one is set) and nothing else, optionally to a ``connect_to`` address (curl's
  ``--connect-to``): the address changes, the hostname that TLS verifies does not.
* :class:`Proxy` is a validated ``http://`` or ``https://`` proxy URL whose
  password is kept apart from the URL that logs and errors show.
* :func:`guard_read_only` refuses anything but GET and the refresh POST.
* :func:`translate` is the one place where ``aiohttp`` errors become connector
  errors, most specific first.
* :func:`server_message` quotes what the server said: short, printable,
  scrubbed of known secrets, never the whole body.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import socket
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from connector._sensitive import scrub
from connector.errors import (
    CentralConnectionError,
    CentralError,
    CentralTimeout,
    InvalidCredentials,
    ReadOnlyViolation,
    UpstreamError,
)

__all__ = [
    "TOKEN_PATH",
    "USER_AGENT",
    "GatewayResolver",
    "Proxy",
    "Reply",
    "SendFailed",
    "check_path",
    "guard_read_only",
    "json_or_none",
    "query_value",
    "server_message",
    "ssl_context",
    "translate",
]

TOKEN_PATH = "/oauth2/token"  # noqa: S105 - a path, not a password
USER_AGENT = "central-connector/0.1 (read-only; aiohttp)"
_MESSAGE_LIMIT = 200
_MESSAGE_KEYS = ("error_description", "description", "message", "detail", "error")


@dataclass(frozen=True, slots=True)
class Reply:
    """A complete answer: status, headers and the whole body."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class SendFailed(Exception):
    """A translated transport failure, with what the retry logic needs to know.

    ``maybe_sent``: the request may have reached Central. It matters for the
    refresh POST, which must not be repeated blindly.
    """

    def __init__(
        self,
        error: CentralError,
        cause: BaseException,
        *,
        retryable: bool,
        maybe_sent: bool = False,
    ) -> None:
        super().__init__(error.message)
        self.error = error
        self.cause = cause
        self.retryable = retryable
        self.maybe_sent = maybe_sent


@dataclass(frozen=True, slots=True)
class Proxy:
    """An HTTP(S) proxy that tunnels to the gateway with ``CONNECT``.

    ``url`` carries no credentials: they are in ``headers``, as the basic
    ``Proxy-Authorization`` that goes with every CONNECT. ``shown`` is the URL as
    logs and errors show it (the user, never the password).
    """

    url: URL
    headers: Mapping[str, str]
    shown: str
    password: str = field(default="", repr=False)

    @classmethod
    def parse(cls, text: str) -> Proxy:
        """Validate a proxy URL such as ``http://user:password@proxy.example:3128``.

        Raises ``InvalidCredentials`` naming what is wrong (never the password).
        """
        try:
            url = URL(text.strip())
            host, port = url.host, url.port
        except ValueError:
            host = port = None
            url = URL()
        if url.scheme not in ("http", "https") or not host or port is None:
            raise InvalidCredentials(
                "the proxy must be a URL like http://proxy.example:3128 (http or "
                "https, with a host), not "
                f"{_proxy_shown(url) if host else 'what was given'}"
            )
        if url.path not in ("", "/") or url.query_string or url.fragment:
            raise InvalidCredentials(
                f"the proxy URL {_proxy_shown(url)} must not have a path or a query"
            )
        headers: dict[str, str] = {}
        password = url.password or ""
        if url.user is not None:
            pair = f"{url.user}:{password}".encode()
            headers["Proxy-Authorization"] = "Basic " + base64.b64encode(pair).decode()
        bare = URL.build(scheme=url.scheme, host=host, port=port)
        return cls(bare, headers, _proxy_shown(url), password)

    @property
    def host(self) -> str:
        return (self.url.host or "").lower()

    def secrets(self) -> tuple[str, ...]:
        """The password and its header, for scrubbing text that came from outside."""
        return (self.password, *self.headers.values()) if self.password else ()


def _proxy_shown(url: URL) -> str:
    user = f"{url.user}@" if url.user is not None else ""
    port = f":{url.port}" if url.port is not None else ""
    return f"{url.scheme}://{user}{url.host}{port}"


class GatewayResolver(AbstractResolver):
    """Resolves the gateway host only, optionally to a ``connect_to`` address.

    With a proxy, aiohttp dials the proxy and the proxy dials the gateway, so the
    proxy's host is the one resolved here (the gateway's stays the proxy's job).
    """

    def __init__(
        self,
        gateway_host: str,
        connect_to: tuple[str, int] | None,
        proxy_host: str | None = None,
    ) -> None:
        self._gateway_host = gateway_host
        self._connect_to = connect_to
        self._proxy_host = proxy_host
        self._system = aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        name = host.rstrip(".").lower()
        if self._proxy_host is not None and name == self._proxy_host:
            if _is_ip(host):
                return [_result(host, host, port)]
            return await self._system.resolve(host, port, family)
        if name != self._gateway_host:
            raise OSError(
                f"refusing to resolve {host!r}: only the gateway host is dialled"
            )
        if self._connect_to is None:
            return await self._system.resolve(host, port, family)
        target, target_port = self._connect_to
        if _is_ip(target):
            return [_result(host, target, target_port)]
        found = await self._system.resolve(target, target_port, family)
        return [_result(host, item["host"], target_port) for item in found]

    async def close(self) -> None:
        await self._system.close()


def _result(hostname: str, address: str, port: int) -> ResolveResult:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    return ResolveResult(
        hostname=hostname,
        host=address,
        port=port,
        family=family,
        proto=0,
        flags=socket.AI_NUMERICHOST,
    )


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def guard_read_only(method: str, url: URL, json_body: Mapping[str, str] | None) -> None:
    """Raise ``ReadOnlyViolation`` unless this is a GET or the token refresh POST."""
    if method == "GET" and json_body is None:
        return
    is_refresh = (
        method == "POST"
        and url.path == TOKEN_PATH
        and not url.query
        and json_body is not None
        and json_body.get("grant_type") == "refresh_token"
    )
    if not is_refresh:
        raise ReadOnlyViolation(method, url.path)


def translate(
    exc: aiohttp.ClientError | TimeoutError,
    method: str,
    shown: str,
    timeout: float,
    proxy: Proxy | None = None,
) -> SendFailed:
    """Turn an ``aiohttp`` failure into a connector error: the only such place."""
    error: CentralError
    if proxy is not None:
        failed = _proxy_failure(exc, method, shown, proxy)
        if failed is not None:
            return failed
    # TLS: the certificate did not verify, or the handshake failed. Not transient.
    if isinstance(
        exc, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError
    ):
        error = CentralConnectionError(
            "TLS verification of the gateway failed; check the gateway URL, and the "
            "CA file if one is given",
            method=method,
            url=shown,
        )
        return SendFailed(error, exc, retryable=False)
    # Could not connect in time: nothing was sent.
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        error = CentralTimeout(
            f"could not connect to the gateway within {timeout / 2:g} s; check the "
            "network path to Central",
            method=method,
            url=shown,
        )
        return SendFailed(error, exc, retryable=True)
    # Could not resolve or connect: nothing was sent.
    if isinstance(exc, aiohttp.ClientConnectorError):
        reason = exc.os_error.strerror or "refused"
        error = CentralConnectionError(
            f"could not connect to the gateway ({reason}); check the gateway URL and "
            "the network path to Central",
            method=method,
            url=shown,
        )
        return SendFailed(error, exc, retryable=True)
    # Sent, but no complete answer in time.
    if isinstance(exc, TimeoutError):
        error = CentralTimeout(
            f"no complete answer from the gateway within {timeout:g} s; try again "
            "later, or raise the timeout",
            method=method,
            url=shown,
        )
        return SendFailed(error, exc, retryable=True, maybe_sent=True)
    # Sent, and the connection broke or the body was cut short.
    if isinstance(exc, aiohttp.ClientConnectionError | aiohttp.ClientPayloadError):
        error = CentralConnectionError(
            "the connection to the gateway broke before a complete answer arrived; "
            "try again later",
            method=method,
            url=shown,
        )
        return SendFailed(error, exc, retryable=True, maybe_sent=True)
    # Anything else aiohttp raises is a failure we do not know how to retry.
    error = UpstreamError(
        f"the request failed ({type(exc).__name__})", method=method, url=shown
    )
    return SendFailed(error, exc, retryable=False, maybe_sent=True)


def _proxy_failure(
    exc: BaseException, method: str, shown: str, proxy: Proxy
) -> SendFailed | None:
    """The proxy itself failed: unreachable, or it refused the tunnel."""
    if isinstance(exc, aiohttp.ClientProxyConnectionError):
        reason = exc.os_error.strerror or "refused"
        error: CentralError = CentralConnectionError(
            f"could not connect to the proxy {proxy.shown} ({reason}); check the "
            "proxy URL and the network path to it",
            method=method,
            url=shown,
        )
        return SendFailed(error, exc, retryable=True)
    if not isinstance(exc, aiohttp.ClientHttpProxyError):
        return None
    answer = f"{exc.status} {scrub(exc.message, proxy.secrets())}".strip()
    if exc.status == 407:
        error = InvalidCredentials(
            f"the proxy {proxy.shown} refused the tunnel ({answer}); check the user "
            "and password in the proxy URL"
        )
        return SendFailed(error, exc, retryable=False)
    error = CentralConnectionError(
        f"the proxy {proxy.shown} would not open a tunnel to the gateway "
        f"({answer}); check that it allows HTTPS to Central",
        method=method,
        url=shown,
    )
    return SendFailed(error, exc, retryable=exc.status >= 500)


def server_message(reply: Reply, secrets: Iterable[str]) -> str:
    """What the server said, as ``"STATUS: text"``: short and secret-free."""
    document = json_or_none(reply.body)
    text = ""
    if isinstance(document, dict):
        said = [
            document[key] for key in _MESSAGE_KEYS if isinstance(document.get(key), str)
        ]
        text = said[0] if said else ""
    elif document is None:
        lines = reply.body.decode("utf-8", "replace").strip().splitlines()
        text = lines[0] if lines else ""
    text = "".join(char if char.isprintable() else " " for char in text)
    text = scrub(text, secrets)
    if len(text) > _MESSAGE_LIMIT:
        text = text[:_MESSAGE_LIMIT] + "..."
    return f"{reply.status}: {text}" if text else f"status {reply.status}"


def json_or_none(body: bytes) -> Any:
    """The parsed JSON, or ``None`` when the body is not JSON."""
    try:
        return json.loads(body)
    except ValueError:
        return None


def query_value(value: str | int | float | bool) -> str:
    """A query parameter value as Central spells it (booleans in lower case)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def check_path(path: str) -> None:
    """A plain absolute path: nothing that could point the request elsewhere."""
    if not path.startswith("/") or path.startswith("//"):
        raise ValueError(f"path must start with a single '/', not {path[:60]!r}")
    if any(char in path for char in "?#\\") or not path.isprintable() or " " in path:
        raise ValueError(
            f"path must be a plain path without query or fragment: {path[:60]!r}"
        )


def ssl_context(ca_file: str | Path | None) -> ssl.SSLContext:
    """A verifying context: the system's trust store, or only ``ca_file``."""
    if ca_file is None:
        return ssl.create_default_context()
    try:
        return ssl.create_default_context(cafile=str(ca_file))
    except (OSError, ssl.SSLError) as exc:
        raise InvalidCredentials(
            f"CA file {str(ca_file)!r} cannot be loaded ({exc}); give a PEM file of "
            "the CA certificates to trust"
        ) from None
