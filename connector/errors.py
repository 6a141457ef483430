"""The one exception tree of the connector.

Every error the connector raises on purpose derives from :class:`CentralError`.
Each message says what went wrong, with which value, and what to do next; none
ever contains a client secret, an access token or a refresh token. Errors about
an HTTP exchange carry the method and a secret-free URL (``.method``, ``.url``).
Low-level ``aiohttp`` errors are translated in exactly one place
(``connector.client``) and chained with ``raise ... from``.

::

    CentralError
    ├── InvalidGatewayURL (ValueError)     the pasted gateway URL is not allowed
    ├── InvalidCredentials (ValueError)    a credentials value or file is unusable
    │   └── TokenStoreError                the token store is unreadable or unwritable
    ├── RefreshTokenRejected               mint a fresh pair from View Tokens
    ├── PermissionDenied                   403: wrong application type or role
    ├── RateLimited                        429s outlasted the bounded back-off
    │   ├── DailyBudgetExhausted           the day's call budget is spent
    │   └── DailyBudgetTooSmall            what is left today cannot finish a sync
    ├── UpstreamError                      Central (or the way to it) failed
    │   ├── CentralTimeout (TimeoutError)  no answer within the timeout
    │   ├── CentralConnectionError         no connection, or TLS failed
    │   │                (ConnectionError)
    │   └── MalformedResponse              the JSON is not what Central sends
    └── ReadOnlyViolation                  a write was attempted; nothing was sent

Names in parentheses are the builtin exceptions an error also is.

Exit codes of ``central-connector``: 2 for ``InvalidGatewayURL``,
``InvalidCredentials`` (and so ``TokenStoreError``) and ``RefreshTokenRejected``;
3 for ``PermissionDenied``; 4 for ``RateLimited`` (and so ``DailyBudgetExhausted``
and ``DailyBudgetTooSmall``);
5 for ``UpstreamError`` and everything under it.
"""

from __future__ import annotations

from datetime import datetime

__all__ = [
    "CentralConnectionError",
    "CentralError",
    "CentralTimeout",
    "DailyBudgetExhausted",
    "DailyBudgetTooSmall",
    "InvalidCredentials",
    "InvalidGatewayURL",
    "MalformedResponse",
    "PermissionDenied",
    "RateLimited",
    "ReadOnlyViolation",
    "RefreshTokenRejected",
    "TokenStoreError",
    "UpstreamError",
]

GATEWAY_HINT = (
    "copy the URL from the header of the API Gateway page in Central "
    "(for example https://apigw-prod2.central.arubanetworks.com)"
)
MINT_HINT = (
    "mint a fresh access/refresh pair in Central (API Gateway > My Apps & Tokens > "
    "View Tokens > Generate Token) and save it again"
)
APP_TYPE_HINT = (
    'create the API client for the "Network Operations" application '
    "(API Gateway > System Apps & Tokens > Add Apps & Tokens), mint a pair for it "
    "and save that pair"
)


class CentralError(Exception):
    """Base of every error the connector raises on purpose.

    ``method`` and ``url`` name the HTTP exchange the error belongs to, when there
    is one; the URL never carries a secret.
    """

    def __init__(
        self, message: str, *, method: str | None = None, url: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.url = url

    def __str__(self) -> str:
        if self.method and self.url:
            return f"{self.message} ({self.method} {self.url})"
        return self.message


class InvalidGatewayURL(CentralError, ValueError):
    """The gateway URL is not ``https://HOST`` with HOST under a Central domain."""

    def __init__(self, shown: str, problem: str) -> None:
        super().__init__(f"gateway URL {shown} {problem}; {GATEWAY_HINT}")
        self.value = shown
        self.problem = problem


class InvalidCredentials(CentralError, ValueError):
    """A credentials value, a credentials file, or the client id/secret is unusable."""


class TokenStoreError(InvalidCredentials):
    """The token store cannot be read, locked or written."""


class RefreshTokenRejected(CentralError):
    """Central refused the refresh token, or the refresh's answer was lost.

    Retrying cannot help: the pair is rotated away, expired or revoked. The
    connector stops here instead of retrying.
    """

    def __init__(
        self,
        reason: str,
        *,
        client_id: str | None = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        who = f" for client id {client_id!r}" if client_id else ""
        super().__init__(f"{reason}{who}; {MINT_HINT}", method=method, url=url)
        self.reason = reason
        self.client_id = client_id


class PermissionDenied(CentralError):
    """Central answered 403: the API client may not read this endpoint."""

    status = 403


class RateLimited(CentralError):
    """Central kept answering 429 after the connector's bounded back-off."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message, method=method, url=url)
        self.retry_after = retry_after


class DailyBudgetExhausted(RateLimited):
    """The day's API call budget is spent; it comes back at 00:00 UTC."""

    def __init__(
        self,
        *,
        client_id: str,
        reset_at: datetime,
        limit: int | None = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        budget = f" of {limit} calls" if limit is not None else ""
        message = (
            f"the daily API budget{budget} for client id {client_id!r} is spent; it "
            f"resets at {reset_at:%Y-%m-%d %H:%M} UTC. The budget is shared by the "
            "whole Central account, so another integration using the same client id "
            "or account may be spending it: check what else polls this account, or "
            "try again after the reset"
        )
        super().__init__(message, method=method, url=url)
        self.client_id = client_id
        self.reset_at = reset_at
        self.limit = limit


class DailyBudgetTooSmall(RateLimited):
    """What Central says is left of today's budget cannot cover the calls needed.

    Raised before those calls are made, so the budget is not spent on work that
    would fail part-way (a sync that cannot finish changes nothing).
    """

    def __init__(
        self,
        *,
        client_id: str,
        needed: int,
        remaining: int,
        reset_at: datetime,
        limit: int | None = None,
    ) -> None:
        budget = f" of {limit}" if limit is not None else ""
        message = (
            f"this needs {needed} more calls to Central, but only {remaining} of the "
            f"daily budget{budget} for client id {client_id!r} are left; nothing was "
            f"spent on it. The budget resets at {reset_at:%Y-%m-%d %H:%M} UTC: run it "
            "after that, or poll this account less often (the budget is shared by "
            "every integration on the account)"
        )
        super().__init__(message)
        self.client_id = client_id
        self.needed = needed
        self.remaining = remaining
        self.reset_at = reset_at
        self.limit = limit


class UpstreamError(CentralError):
    """Central, or the network on the way to it, failed to give a usable answer."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message, method=method, url=url)
        self.status = status


class CentralTimeout(UpstreamError, TimeoutError):
    """No complete answer arrived within the configured timeout."""


class CentralConnectionError(UpstreamError, ConnectionError):
    """No connection could be made, it broke, or TLS verification failed."""


class MalformedResponse(UpstreamError):
    """The response is not JSON, or not the shape Central documents.

    ``endpoint`` and ``field`` say where; the payload itself is never quoted.
    """

    def __init__(
        self,
        *,
        endpoint: str,
        field: str | None,
        problem: str,
        status: int | None = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        where = f" field {field!r}" if field else ""
        message = (
            f"Central's answer from {endpoint} is malformed:{where} {problem}; this "
            "is not the shape Central documents, so check that the gateway URL "
            "points at a Classic Central API gateway and report the field if it does"
        )
        super().__init__(message, status=status, method=method, url=url)
        self.endpoint = endpoint
        self.field = field
        self.problem = problem


class ReadOnlyViolation(CentralError):
    """Something asked the transport for a write; it was refused before any I/O."""

    def __init__(self, method: str, path: str) -> None:
        super().__init__(
            f"refused to send {method} {path}: this connector is read-only and only "
            "sends GET requests (plus the token refresh POST); use Central's UI or "
            "another tool for changes"
        )
        self.method = method
        self.path = path
