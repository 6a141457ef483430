"""The gateway's answers, in the exact shapes clients check, and the exchange record.

Central mixes four error shapes and clients must handle all of them; the fake
uses each where the real gateway does (reference §1.4, §3, §4, §8):

* OAuth errors (Kong's oauth2 plugin): ``{"error", "error_description"}``
* gateway errors (Kong): ``{"message"}``
* service errors (the API behind Kong): ``{"description", "error_code",
  "service_name"}``
* plain-text 5xx from an upstream proxy (a fault action)

The fake's own answers (control API, unknown routes) use ``{"error", "message"}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from aiohttp import web

from fake_central.faults import ArmedFault
from fake_central.oauth import AccessGrant, TokenState

__all__ = [
    "Exchange",
    "central_error",
    "fake_error",
    "forbidden",
    "gateway_error",
    "invalid_token",
    "json_response",
    "missing_token",
    "oauth_error",
    "rate_limited",
]

# The two texts below are Kong error messages, not secrets (hence the noqa).
NO_STORE: Final = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_INVALID_TOKEN_TEXT: Final = "The access token is invalid or has expired"  # noqa: S105
_MISSING_TOKEN_TEXT: Final = "The access token is missing"  # noqa: S105


@dataclass(slots=True)
class Exchange:
    """What the fake learned about one request while answering it."""

    cluster: str
    client_id: str | None = None
    token_state: TokenState | None = None
    grant: Literal["refresh_token"] | None = None
    outcome: str | None = None
    detail: str | None = None
    fault: ArmedFault | None = None
    access: AccessGrant | None = None
    params: dict[str, str] = field(default_factory=dict)
    path_params: dict[str, str] = field(default_factory=dict)
    rate_headers: dict[str, str] | None = None
    dropped: bool = False


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """A JSON answer (``application/json; charset=utf-8``)."""
    return web.Response(
        text=json.dumps(payload),
        status=status,
        headers=headers,
        content_type="application/json",
    )


def invalid_token() -> web.Response:
    """401 for an expired, revoked, unknown, rotated-away or foreign token."""
    header = (
        f'Bearer realm="service" error="invalid_token" '
        f'error_description="{_INVALID_TOKEN_TEXT}"'
    )
    return json_response(
        {"error": "invalid_token", "error_description": _INVALID_TOKEN_TEXT},
        401,
        {"WWW-Authenticate": header},
    )


def missing_token() -> web.Response:
    """401 when neither an Authorization header nor ``access_token`` was sent."""
    return json_response(
        {"error": "invalid_request", "error_description": _MISSING_TOKEN_TEXT},
        401,
        {"WWW-Authenticate": 'Bearer realm="service"'},
    )


def oauth_error(
    error: str,
    description: str,
    status: int = 400,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """An OAuth-plugin error from ``/oauth2/token`` (never cached)."""
    return json_response(
        {"error": error, "error_description": description},
        status,
        {**NO_STORE, **(headers or {})},
    )


def gateway_error(
    message: str, status: int, headers: dict[str, str] | None = None
) -> web.Response:
    """A Kong-style ``{"message": ...}`` answer."""
    return json_response({"message": message}, status, headers)


def rate_limited(headers: dict[str, str]) -> web.Response:
    return gateway_error("API rate limit exceeded", 429, headers)


def forbidden(body: dict[str, Any], headers: dict[str, str] | None) -> web.Response:
    return json_response(body, 403, headers)


def central_error(code: str, description: str, service: str) -> web.Response:
    """A service-level 400 in Central's ``{description, error_code, service_name}``."""
    return json_response(
        {"description": description, "error_code": code, "service_name": service}, 400
    )


def fake_error(error: str, message: str, status: int, **extra: Any) -> web.Response:
    """An answer of the fake itself (control API, routing): ``{error, message}``."""
    return json_response({"error": error, "message": message, **extra}, status)
