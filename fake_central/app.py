"""The aiohttp application: one dispatcher in front of every path.

A request goes through these steps, in this order:

1. the body-size guard (413 above ``max_body_bytes``);
2. the control API (``/_fake/...``), on any Host;
3. the Host header picks the cluster (421 for an unknown non-loopback host);
4. the route table (404 listing what is simulated, 405 for a wrong method);
5. identity: the access token (API paths) or the token request's parameters;
6. armed faults, which may answer, delay, or drop the connection;
7. for API paths: token check (401), rate limit (429), app type (403);
8. the handler; then ``lose_token_response`` faults, after a committed rotation.

Every answer's ``Date`` header reads the fake clock, as Central's reads its own,
so a client that dates ``Retry-After`` against it sees one consistent time.
Every request, answered or dropped, is journaled with secrets masked, and gets
one INFO line on ``fake_central.http`` (without the query string). An unexpected
exception becomes Kong's 500 body and is kept in ``FakeCentral.server_errors``
so the test helpers can re-raise it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Mapping
from email.utils import formatdate
from typing import Final

from aiohttp import hdrs, web

from fake_central import control
from fake_central.api import CENTRAL_ROUTES, TokenRequestError, read_token_params
from fake_central.clusters import CLUSTERS, UNKNOWN_HOST
from fake_central.core import FakeCentral
from fake_central.faults import (
    DelayAction,
    DropAction,
    LoseTokenResponseAction,
    PlainTextAction,
    StatusAction,
)
from fake_central.responses import (
    Exchange,
    fake_error,
    forbidden,
    gateway_error,
    invalid_token,
    json_response,
    missing_token,
    oauth_error,
    rate_limited,
)
from fake_central.sensitive import mask_pairs

__all__ = ["FAKE_KEY", "make_app"]

logger = logging.getLogger("fake_central.http")

FAKE_KEY: Final = web.AppKey("fake_central", FakeCentral)
_CLOSING_KEY: Final = web.AppKey("fake_central_closing", asyncio.Event)
_TOKEN_PATH: Final = "/oauth2/token"  # noqa: S105 - a path, not a secret
_CONTROL_PREFIX: Final = "/_fake/"


def make_app(fake: FakeCentral | None = None) -> web.Application:
    """An aiohttp application serving ``fake`` (a new default fake when None)."""
    fake = fake if fake is not None else FakeCentral()
    # TODO(runtime max_body_bytes): aiohttp fixes client_max_size per application,
    # so a later config change applies to Content-Length checks only; chunked
    # bodies keep the limit the app was made with.
    app = web.Application(client_max_size=fake.config.max_body_bytes)
    app[FAKE_KEY] = fake
    app[_CLOSING_KEY] = asyncio.Event()
    app.on_shutdown.append(_release_delays)
    app.router.add_route("*", "/{tail:.*}", _dispatch)
    return app


async def _release_delays(app: web.Application) -> None:
    app[_CLOSING_KEY].set()


async def _dispatch(request: web.Request) -> web.StreamResponse:
    fake = request.app[FAKE_KEY]
    path, method = request.path, request.method
    cluster = fake.resolver.resolve(request.headers.get(hdrs.HOST))
    ex = Exchange(cluster)
    try:
        response = await _answer(fake, request, ex, path, method)
    except web.HTTPRequestEntityTooLarge:  # a chunked body outgrew client_max_size
        response = _too_large(fake)
    except web.HTTPException as error:  # any other refusal aiohttp raises itself
        response = fake_error("bad_request", error.reason, error.status)
    except Exception as error:  # a bug in the fake: answer like Kong, keep it for tests
        logger.exception("unexpected error answering %s %s", method, path)
        fake.server_errors.append(error)
        response = gateway_error("An unexpected error occurred", 500)
    if ex.rate_headers and not ex.dropped:
        response.headers.update(ex.rate_headers)
    response.headers[hdrs.DATE] = _http_date(int(fake.clock.timestamp()))
    _record(fake, request, ex, path, method, 0 if ex.dropped else response.status)
    return response


@functools.lru_cache(maxsize=4)
def _http_date(second: int) -> str:
    """``Date`` for a moment of the fake clock (RFC 9110 IMF-fixdate, GMT)."""
    return formatdate(second, usegmt=True)


def _record(
    fake: FakeCentral,
    request: web.Request,
    ex: Exchange,
    path: str,
    method: str,
    status: int,
) -> None:
    query = mask_pairs(request.query.items()) if request.query_string else {}
    fault = ex.fault.label if ex.fault is not None else None
    fake.journal_log.log(
        fake.clock.timestamp(), ex.cluster, ex.client_id, method, path, query, status,
        ex.token_state, fault, ex.grant, ex.outcome, ex.detail,
    )  # fmt: skip
    logger.info("%s %s %s -> %d", ex.cluster, method, path, status)


async def _answer(
    fake: FakeCentral, request: web.Request, ex: Exchange, path: str, method: str
) -> web.StreamResponse:
    length = request.content_length
    if length is not None and length > fake.config.max_body_bytes:
        return _too_large(fake)
    if path.startswith(_CONTROL_PREFIX) or path == _CONTROL_PREFIX[:-1]:
        return await control.handle(fake, request, ex, path, method)
    if ex.cluster == UNKNOWN_HOST:
        return _unknown_host(request.headers.get(hdrs.HOST, ""))

    methods = CENTRAL_ROUTES.get(path)
    if methods is None:
        return _not_found(method, path)
    handler = methods.get(method)
    if handler is None:
        return _method_not_allowed(method, path, methods)

    refusal = await _identify(fake, request, ex, path)
    if refusal is not None:
        return refusal
    if fake.faults:
        early = await _apply_fault(fake, request, ex, path, method)
        if early is not None:
            return early
    if path != _TOKEN_PATH:
        refusal = _gate(fake, ex, path)
        if refusal is not None:
            return refusal

    response = await handler(fake, request, ex)
    if ex.fault is not None and isinstance(
        ex.fault.spec.action, LoseTokenResponseAction
    ):
        return _lose(fake, request, ex, response)
    return response


async def _identify(
    fake: FakeCentral, request: web.Request, ex: Exchange, path: str
) -> web.StreamResponse | None:
    """Who is calling: the token's client, or the token request's client_id."""
    if path == _TOKEN_PATH:
        try:
            ex.params = await read_token_params(request)
        except TokenRequestError as error:
            ex.outcome = "invalid_request"
            return oauth_error("invalid_request", str(error))
        ex.client_id = ex.params.get("client_id")
        ex.grant = (
            "refresh_token" if ex.params.get("grant_type") == "refresh_token" else None
        )
        return None
    token = _bearer(request)
    ex.token_state, ex.access, ex.client_id = fake.tokens.check_access(
        token, ex.cluster
    )
    return None


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return request.query.get("access_token") if request.query_string else None


def _gate(fake: FakeCentral, ex: Exchange, path: str) -> web.StreamResponse | None:
    """401 for a bad token, 429 for a spent budget, 403 for a foreign app type."""
    grant = ex.access
    if grant is None:
        ex.outcome = "unauthorized"
        missing = ex.token_state == "missing"  # noqa: S105 - a state name
        return missing_token() if missing else invalid_token()
    config = fake.config
    verdict = fake.limiter.take(
        fake.limiter.key_for(grant.client_id, grant.customer_id),
        enforce=config.rate_limit_enabled,
    )
    ex.rate_headers = verdict.headers
    if not verdict.allowed:
        ex.outcome, ex.detail = "rate_limited", verdict.exhausted
        return rate_limited({})
    prefixes = config.app_types.get(grant.app_type, ())
    if not path.startswith(tuple(prefixes)):
        ex.outcome = "forbidden"
        return forbidden(config.forbidden_body, None)
    return None


async def _apply_fault(
    fake: FakeCentral, request: web.Request, ex: Exchange, path: str, method: str
) -> web.StreamResponse | None:
    fault = fake.faults.pick(
        fake.clock.timestamp(), ex.cluster, ex.client_id, method, path
    )
    if fault is None:
        return None
    ex.fault = fault
    action = fault.spec.action
    logger.info("fault %s fires on %s %s", fault.label, method, path)
    # A status answer with the given body and headers.
    if isinstance(action, StatusAction):
        return _status_answer(action)
    # An upstream proxy's plain-text error.
    if isinstance(action, PlainTextAction):
        return web.Response(
            text=action.text, status=action.status, content_type="text/plain"
        )
    # The connection closes with no answer at all.
    if isinstance(action, DropAction):
        return _drop(request, ex)
    # A slow gateway: wait (real time), then answer normally.
    if isinstance(action, DelayAction):
        if fake.sleeper is not None:
            await fake.sleeper(action.seconds)
        else:
            closing = request.app[_CLOSING_KEY]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(closing.wait(), action.seconds)
    return None  # lose_token_response acts after the handler


def _status_answer(action: StatusAction) -> web.Response:
    body = action.body
    if isinstance(body, str):
        return web.Response(text=body, status=action.status, headers=action.headers)
    if body is None:
        return web.Response(status=action.status, headers=action.headers)
    return json_response(body, action.status, dict(action.headers))


def _lose(
    fake: FakeCentral, request: web.Request, ex: Exchange, response: web.StreamResponse
) -> web.StreamResponse:
    """After a committed rotation, lose the answer (drop or a 5xx)."""
    if ex.outcome != "rotated":  # nothing was committed: the shot is not used up
        assert ex.fault is not None
        fake.faults.refund(ex.fault)
        ex.fault = None
        return response
    action = ex.fault.spec.action if ex.fault is not None else None
    if isinstance(action, LoseTokenResponseAction) and action.status is not None:
        return gateway_error("An unexpected error occurred", action.status)
    return _drop(request, ex)


def _drop(request: web.Request, ex: Exchange) -> web.StreamResponse:
    ex.dropped = True
    if request.transport is not None:
        request.transport.abort()
    return web.Response(status=204)


# -- routing answers -------------------------------------------------------------------


def simulated_routes() -> list[str]:
    """``METHOD path`` for every Central path the fake answers."""
    return [f"{m} {path}" for path, methods in CENTRAL_ROUTES.items() for m in methods]


def _not_found(method: str, path: str) -> web.Response:
    return fake_error(
        "not_simulated",
        f"the fake Central gateway does not simulate {method} {path}; "
        "see 'simulated' for the Central paths and 'control' for the /_fake/ API",
        404,
        simulated=simulated_routes(),
        control=control.control_routes(),
    )


def _method_not_allowed(
    method: str, path: str, methods: Mapping[str, object]
) -> web.Response:
    allowed = ", ".join(sorted(methods))
    response = fake_error(
        "method_not_allowed",
        f"{path} answers {allowed} only, not {method}",
        405,
        simulated=simulated_routes(),
    )
    response.headers["Allow"] = allowed
    return response


def _unknown_host(host: str) -> web.Response:
    known = ", ".join(f"{name} ({host_name})" for name, host_name in CLUSTERS.items())
    return fake_error(
        "unknown_host",
        f"no Central cluster is served at host '{host}'; the fake knows {known}; "
        "requests to 127.0.0.1 or localhost go to the default cluster",
        421,
        clusters=dict(CLUSTERS),
    )


def _too_large(fake: FakeCentral) -> web.Response:
    limit = fake.config.max_body_bytes
    return fake_error(
        "body_too_large", f"request bodies are limited to {limit} bytes", 413
    )
