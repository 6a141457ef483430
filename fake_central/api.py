"""Handlers of the Central paths: the token endpoint, sites, inventory, monitoring.

By the time a data handler runs, the dispatcher (``fake_central.app``) has
checked the token, the rate limit and the app type; these functions only read
query parameters, slice one page and serialise it (sites and inventory pages come
from the tenant's cache of encoded bodies). Bad parameters get a 400 in
Central's service-error shape with the reference's codes:

* ``0002`` value out of range (negative offset, limit above the maximum)
* ``0003`` unsupported query combination (one parameter given twice, differently)
* ``0004`` invalid value (not a number, unknown ``sort``/``sku_type``, unknown
  parameter)
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Final

from aiohttp import web
from multidict import MultiMapping

from fake_central.datagen import KINDS
from fake_central.responses import (
    NO_STORE,
    Exchange,
    central_error,
    json_response,
    oauth_error,
)
from fake_central.tenant import MONITORING_FILTERS

if TYPE_CHECKING:
    from fake_central.core import FakeCentral

__all__ = ["CENTRAL_ROUTES", "Handler", "QueryError", "read_token_params"]

Handler = Callable[
    ["FakeCentral", web.Request, Exchange], Awaitable[web.StreamResponse]
]

SITES: Final = "Configuration"
INVENTORY: Final = "Device Inventory"
MONITORING: Final = "Monitoring"

_ALWAYS: Final = frozenset({"access_token"})
_NO_SITES: Final = b'{"count": 0, "sites": [], "total": 0}'


def _names(words: str) -> frozenset[str]:
    """The parameter names an endpoint documents, plus ``access_token``."""
    return frozenset(words.split()) | _ALWAYS


_SITES_PARAMS: Final = (
    frozenset({"offset", "limit", "calculate_total", "sort"}) | _ALWAYS
)
_INVENTORY_PARAMS: Final = frozenset({"sku_type", "offset", "limit"}) | _ALWAYS
_MONITORING_PARAMS: Final[dict[str, frozenset[str]]] = {
    "aps": _names(
        "group swarm_id label site status serial macaddr model cluster_id fields "
        "calculate_total calculate_client_count calculate_ssid_count "
        "show_resource_details offset limit sort"
    ),
    "switches": _names(
        "group label stack_id status fields calculate_total show_resource_details "
        "calculate_client_count public_ip_address site offset limit sort"
    ),
    "gateways": _names(
        "group label site status macaddr model fields calculate_total offset limit "
        "sort device_type"
    ),
}
_BOOLEAN_PARAMS: Final = frozenset(
    {
        "calculate_total",
        "calculate_client_count",
        "calculate_ssid_count",
        "show_resource_details",
    }
)
# Filters no generated device can satisfy (all devices have no labels, swarm,
# stack or cluster id), so any value selects nothing.
_EMPTY_FILTERS: Final = frozenset({"label", "swarm_id", "stack_id", "cluster_id"})
# TODO(fields projection, gateway device_type): accepted and validated but not
# applied; every device is returned with every field until a test needs them.
_SKU_TYPES: Final[dict[str, frozenset[str] | None]] = {
    "all": None,
    "iap": frozenset({"aps"}),
    "all_ap": frozenset({"aps"}),
    "switch": frozenset({"switches"}),
    "mas": frozenset({"switches"}),
    "controller": frozenset({"gateways"}),
    "gateway": frozenset({"gateways"}),
    "all_controller": frozenset({"gateways"}),
    "vgw": frozenset(),
    "cap": frozenset(),
    "boc": frozenset(),
    "others": frozenset(),
}


class QueryError(Exception):
    """A query parameter Central would refuse, with its error code."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


# -- query parsing ----------------------------------------------------------------


def _single_values(
    query: MultiMapping[str], allowed: frozenset[str], strict: bool
) -> dict[str, str]:
    """One value per name; repeated identical values are fine (pycentral sends them).

    An empty value (``?status=``) reads as absent, for every parameter alike.
    """
    values: dict[str, str] = {}
    for name, value in query.items():
        if name not in allowed:
            if strict:
                known = ", ".join(sorted(allowed - _ALWAYS))
                raise QueryError(
                    "0004",
                    f"unknown query parameter '{name}'; this endpoint accepts: {known}",
                )
            continue
        if value == "":
            continue
        if name in values and values[name] != value:
            raise QueryError(
                "0003",
                f"query parameter '{name}' was given twice with different values",
            )
        values[name] = value
    return values


def _integer(
    values: Mapping[str, str], name: str, default: int, maximum: int | None
) -> int:
    raw = values.get(name)
    if raw is None:
        return default
    text = raw.strip()
    negative = text.startswith("-")
    digits = text[1:] if negative else text.removeprefix("+")
    if not (digits.isascii() and digits.isdigit()):
        raise QueryError("0004", f"'{name}' must be a whole number, got '{raw}'")
    if negative and int(digits) != 0:
        raise QueryError("0002", f"'{name}' must be 0 or more, got {raw}")
    number = int(digits)
    if maximum is not None and not 1 <= number <= maximum:
        raise QueryError(
            "0002", f"'{name}' must be between 1 and {maximum}, got {number}"
        )
    return number


def _check_booleans(values: Mapping[str, str]) -> None:
    for name in _BOOLEAN_PARAMS.intersection(values):
        if values[name].lower() not in ("true", "false"):
            raise QueryError(
                "0004", f"'{name}' must be true or false, got '{values[name]}'"
            )


def _sort(values: Mapping[str, str], fields: frozenset[str]) -> str | None:
    raw = values.get("sort")
    if raw is None:
        return None
    # An unencoded '+' arrives as a space; read it as the '+' the client meant.
    text = "+" + raw[1:] if raw.startswith(" ") else raw
    if text[:1] not in "+-" or text[1:] not in fields:
        choices = ", ".join(f"+{f}, -{f}" for f in sorted(fields))
        raise QueryError("0004", f"'sort' must be one of {choices}; got '{raw}'")
    return text


def _paging(
    values: Mapping[str, str], default_limit: int, max_limit: int
) -> tuple[int, int]:
    offset = _integer(values, "offset", 0, None)
    limit = _integer(values, "limit", default_limit, max_limit)
    return offset, limit


# -- data handlers ----------------------------------------------------------------


async def list_sites(
    fake: FakeCentral, request: web.Request, ex: Exchange
) -> web.StreamResponse:
    config = fake.config
    try:
        values = _single_values(
            request.query, _SITES_PARAMS, config.reject_unknown_params
        )
        _check_booleans(values)
        descending = _sort(values, frozenset({"site_name"})) == "-site_name"
        offset, limit = _paging(
            values, config.sites_default_limit, config.sites_max_limit
        )
    except QueryError as error:
        return central_error(error.code, error.description, SITES)

    tenant = fake.tenant_or_none(_customer(ex))
    if tenant is None:
        return _json_body(_NO_SITES)
    return _json_body(tenant.site_page_body(offset, limit, descending=descending))


async def list_inventory(
    fake: FakeCentral, request: web.Request, ex: Exchange
) -> web.StreamResponse:
    config = fake.config
    try:
        values = _single_values(
            request.query, _INVENTORY_PARAMS, config.reject_unknown_params
        )
        kinds = _sku_kinds(values.get("sku_type") or "all")
        offset, limit = _paging(
            values, config.inventory_default_limit, config.inventory_max_limit
        )
    except QueryError as error:
        return central_error(error.code, error.description, INVENTORY)

    tenant = fake.tenant_or_none(_customer(ex))
    if tenant is None or kinds == frozenset():
        return json_response({"devices": [], "total": 0})
    return _json_body(tenant.inventory_page_body(kinds, offset, limit))


def _json_body(body: bytes) -> web.Response:
    """A JSON answer from bytes already encoded (and usually cached)."""
    return web.Response(body=body, content_type="application/json", charset="utf-8")


def _sku_kinds(raw: str) -> frozenset[str] | None:
    try:
        return _SKU_TYPES[raw.lower()]
    except KeyError:
        choices = ", ".join(_SKU_TYPES)
        raise QueryError(
            "0004", f"'sku_type' must be one of {choices}; got '{raw}'"
        ) from None


def _monitoring_handler(kind: str) -> Handler:
    sort_fields = frozenset(
        {"serial", "macaddr", "swarm_id"} if kind == "aps" else {"serial", "macaddr"}
    )
    allowed = _MONITORING_PARAMS[kind]

    async def list_monitoring(
        fake: FakeCentral, request: web.Request, ex: Exchange
    ) -> web.StreamResponse:
        config = fake.config
        try:
            values = _single_values(
                request.query, allowed, config.reject_unknown_params
            )
            _check_booleans(values)
            sort = _sort(values, sort_fields)
            offset, limit = _paging(
                values, config.monitoring_default_limit, config.monitoring_max_limit
            )
            filters = _filters(values)
        except QueryError as error:
            return central_error(error.code, error.description, MONITORING)

        tenant = fake.tenant_or_none(_customer(ex))
        if tenant is None or any(name in _EMPTY_FILTERS for name in values):
            return json_response({kind: [], "count": 0, "total": 0})
        items, total = tenant.monitoring_page(kind, filters, sort, offset, limit)
        return json_response({kind: items, "count": len(items), "total": total})

    list_monitoring.__name__ = f"list_{kind}"
    return list_monitoring


def _filters(values: Mapping[str, str]) -> dict[str, str]:
    chosen = {name: values[name] for name in MONITORING_FILTERS.intersection(values)}
    status = chosen.get("status")
    if status is not None and status.lower() not in ("up", "down"):
        raise QueryError("0004", f"'status' must be Up or Down, got '{status}'")
    return chosen


def _customer(ex: Exchange) -> str:
    assert ex.access is not None, "data handlers run only after the token check"
    return ex.access.customer_id


# -- the token endpoint -------------------------------------------------------------


class TokenRequestError(Exception):
    """The token request's parameters could not be read."""


async def read_token_params(request: web.Request) -> dict[str, str]:
    """Parameters from the query string, a JSON body or a form body (body wins)."""
    params = {name: value for name, value in reversed(list(request.query.items()))}
    if request.body_exists:
        params.update(await _body_params(request))
    if "client_id" not in params:
        params.update(_basic_credentials(request))
    return params


async def _body_params(request: web.Request) -> dict[str, str]:
    content_type = request.content_type
    raw = await request.read()
    if not raw.strip():
        return {}
    if content_type == "application/json":
        try:
            payload = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as error:
            raise TokenRequestError(f"the JSON body is malformed: {error}") from None
        if not isinstance(payload, dict):
            raise TokenRequestError("the JSON body must be an object of parameters")
        return {
            str(k): v if isinstance(v, str) else json.dumps(v)
            for k, v in payload.items()
        }
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        try:
            form = await request.post()
        except ValueError as error:  # no boundary, bad parts, bytes that are not UTF-8
            raise TokenRequestError(f"the form body is malformed: {error}") from None
        return {name: value for name, value in form.items() if isinstance(value, str)}
    raise TokenRequestError(
        f"Content-Type '{content_type}' is not supported; send the parameters in the "
        "query string, a JSON body or a form body"
    )


def _basic_credentials(request: web.Request) -> dict[str, str]:
    header = request.headers.get("Authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return {}
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return {}
    client_id, _, client_secret = decoded.partition(":")
    return {"client_id": client_id, "client_secret": client_secret, "_basic": "1"}


async def token(
    fake: FakeCentral, request: web.Request, ex: Exchange
) -> web.StreamResponse:
    params = ex.params
    grant_type = params.get("grant_type")
    if grant_type == "authorization_code":
        # The fake issues no auth codes, so every code is invalid (Kong's answer).
        ex.outcome = "invalid_code"
        return oauth_error("invalid_request", "Invalid code")
    if grant_type != "refresh_token":
        ex.outcome = "unsupported_grant_type"
        return oauth_error("unsupported_grant_type", "Invalid grant_type")

    result = fake.tokens.refresh(
        ex.cluster,
        params.get("client_id"),
        params.get("client_secret"),
        params.get("refresh_token"),
    )
    ex.outcome, ex.detail = result.outcome, result.detail
    if result.outcome == "invalid_client":
        if "_basic" in params:
            return oauth_error(
                "invalid_client",
                "Invalid client authentication",
                401,
                {"WWW-Authenticate": 'Basic realm="OAuth2.0"'},
            )
        return oauth_error("invalid_client", "Invalid client authentication")
    if result.pair is None:
        return oauth_error("invalid_request", "Invalid refresh_token")
    return json_response(result.pair.model_dump(), 200, dict(NO_STORE))


CENTRAL_ROUTES: Final[dict[str, dict[str, Handler]]] = {
    "/oauth2/token": {"POST": token},
    "/central/v2/sites": {"GET": list_sites},
    "/platform/device_inventory/v1/devices": {"GET": list_inventory},
    "/monitoring/v2/aps": {"GET": _monitoring_handler("aps")},
    "/monitoring/v1/switches": {"GET": _monitoring_handler("switches")},
    "/monitoring/v1/gateways": {"GET": _monitoring_handler("gateways")},
}
"""Path -> method -> handler for every Central path the fake simulates."""

assert set(KINDS) == set(_MONITORING_PARAMS)
