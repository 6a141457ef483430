"""What Central's answers mean: a JSON object, a token grant, or a connector error.

Messages quote what the server said through ``server_message`` (short,
printable, scrubbed of known secrets), never a whole body.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import SecretStr

from connector._transport import Reply, json_or_none, server_message
from connector.auth import RefreshOutcomeUnknown, TokenGrant
from connector.errors import (
    APP_TYPE_HINT,
    InvalidCredentials,
    MalformedResponse,
    PermissionDenied,
    RefreshTokenRejected,
    UpstreamError,
)

__all__ = ["check_success", "json_object", "parse_grant", "token_grant"]


def json_object(reply: Reply, endpoint: str, shown: str) -> dict[str, Any]:
    """The JSON object in a 2xx answer's body, or ``MalformedResponse``."""
    document = json_or_none(reply.body)
    if not isinstance(document, dict):
        problem = "is not a JSON object" if document is not None else "is not JSON"
        raise MalformedResponse(
            endpoint=endpoint,
            field=None,
            problem=f"the body {problem}",
            status=reply.status,
            method="GET",
            url=shown,
        )
    return document


def check_success(
    reply: Reply, endpoint: str, shown: str, secrets: Iterable[str], attempts: int
) -> None:
    """Return when a GET's final answer is a 2xx; else raise the error it means."""
    status = reply.status
    # Success: the caller reads the body.
    if 200 <= status < 300:
        return
    said = server_message(reply, secrets)
    # 403: the API client's application type or role does not cover this.
    if status == 403:
        raise PermissionDenied(
            f"Central denied access to {endpoint} ({said}); the API client may "
            f"belong to the wrong application: {APP_TYPE_HINT}",
            method="GET",
            url=shown,
        )
    # Redirects are never followed: the gateway does not send them.
    if 300 <= status < 400:
        raise UpstreamError(
            f"Central answered {status} (a redirect, not followed); check the "
            "gateway URL",
            status=status,
            method="GET",
            url=shown,
        )
    # 5xx after the retries, or another 4xx.
    if status >= 500:
        advice = f" after {attempts} attempts; try again later"
    else:
        advice = "; Central refused the request as it stands"
    raise UpstreamError(
        f"Central answered {status} ({said}){advice}",
        status=status,
        method="GET",
        url=shown,
    )


def token_grant(reply: Reply, shown: str, secrets: Iterable[str]) -> TokenGrant:
    """The grant in a refresh answer (not 429), or the error that answer means."""
    # A 5xx may come after Central rotated the pair: the outcome is unknown.
    if reply.status >= 500:
        raise RefreshOutcomeUnknown(f"status {reply.status}")
    if reply.status == 200:
        return parse_grant(reply.body)

    document = json_or_none(reply.body)
    error = str(document.get("error", "")) if isinstance(document, dict) else ""
    said = server_message(reply, secrets)
    # The client id or secret is wrong (or belongs to another cluster).
    if error == "invalid_client":
        raise InvalidCredentials(
            f"Central rejected the client id or client secret ({said}); check both "
            "against the API client on the API Gateway page, and that the gateway "
            "URL is that client's cluster",
            method="POST",
            url=shown,
        )
    # Any other refusal: the refresh token is rotated away, expired or revoked.
    if reply.status in (400, 401):
        raise RefreshTokenRejected(
            f"Central rejected the refresh token ({said})", method="POST", url=shown
        )
    raise UpstreamError(
        f"the token endpoint answered {reply.status} ({said}); try again later",
        status=reply.status,
        method="POST",
        url=shown,
    )


def parse_grant(body: bytes) -> TokenGrant:
    """Read a 200 answer of ``/oauth2/token``.

    An answer without a usable access token means Central may have rotated the
    pair without telling us the new one: ``RefreshOutcomeUnknown``.
    """
    document = json_or_none(body)
    if not isinstance(document, dict):
        raise RefreshOutcomeUnknown("the refresh answer is not a JSON object")
    access, refresh = document.get("access_token"), document.get("refresh_token")
    if not isinstance(access, str) or not access:
        raise RefreshOutcomeUnknown("the refresh answer has no access_token")
    if refresh is not None and (not isinstance(refresh, str) or not refresh):
        raise RefreshOutcomeUnknown("the refresh answer has an unusable refresh_token")
    return TokenGrant(
        access_token=SecretStr(access),
        refresh_token=SecretStr(refresh) if refresh else None,
        expires_in=_seconds(document.get("expires_in")),
    )


def _seconds(value: object) -> int | None:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return None
    return value
