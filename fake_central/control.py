"""The control API under ``/_fake/``: set the fake up and look inside it.

JSON in, JSON out, on any Host. Bodies are validated with pydantic: malformed
JSON is a 400, a body that is not JSON is a 415, a wrong or unknown field is a
422 naming the field, an unknown query parameter is a 400. The fake's own errors
read ``{"error": code, "message": text}``. The README's control-API section
documents every route.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar

from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from fake_central.errors import (
    FakeCentralError,
    MintRefused,
    UnknownClient,
    UnknownCustomer,
)
from fake_central.faults import FaultSpec
from fake_central.responses import Exchange, fake_error, json_response

if TYPE_CHECKING:
    from fake_central.core import FakeCentral

__all__ = ["control_routes", "handle"]

ControlHandler = Callable[
    ["FakeCentral", web.Request, Exchange], Awaitable[web.StreamResponse]
]


class ControlError(Exception):
    """A refusal of the control API, already shaped as an answer."""

    def __init__(self, status: int, error: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.response = fake_error(error, message, status, **extra)


_M = TypeVar("_M", bound=BaseModel)


# -- request bodies ----------------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AppRequest(_Body):
    cluster: str | None = None
    app_type: str = "network_operations"
    customer_id: str | None = Field(None, min_length=1, max_length=64)


class ClockRequest(_Body):
    advance: float | None = Field(None, ge=-10 * 365 * 86_400, le=10 * 365 * 86_400)
    set: AwareDatetime | None = None
    freeze: bool | None = None


class InventoryRequest(_Body):
    customer_id: str = Field(min_length=1)
    sites: int = Field(ge=0, le=20_000)
    devices: int = Field(ge=0, le=500_000)
    seed: int = 0
    unmonitored_fraction: float = Field(0.05, ge=0.0, le=1.0)


class TenantChange(_Body):
    add_sites: int = Field(0, ge=0, le=20_000)
    remove_sites: int = Field(0, ge=0)
    remove_from_start: bool = False
    add_devices: int = Field(0, ge=0, le=500_000)
    device_kind: Literal["aps", "switches", "gateways"] = "aps"
    remove_devices: int = Field(0, ge=0)


async def _json_object(
    request: web.Request, *, required: bool
) -> dict[str, Any] | None:
    raw = await request.read() if request.body_exists else b""
    if not raw.strip():
        if required:
            raise ControlError(
                400, "missing_body", "this endpoint needs a JSON object body"
            )
        return None
    if request.content_type != "application/json":
        raise ControlError(
            415,
            "unsupported_media_type",
            f"send JSON with Content-Type: application/json, not '{request.content_type}'",
        )
    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise ControlError(
            400, "malformed_json", f"the body is not valid JSON: {error}"
        ) from None
    if not isinstance(payload, dict):
        raise ControlError(422, "invalid_body", "the body must be a JSON object")
    return payload


def _validated(model: type[_M], payload: dict[str, Any] | None) -> _M:
    try:
        return model.model_validate(payload or {})
    except ValidationError as error:
        raise _invalid(error) from None


def _invalid(error: ValidationError) -> ControlError:
    fields = [
        {
            "field": ".".join(str(part) for part in item["loc"]) or "(body)",
            "message": item["msg"],
        }
        for item in error.errors(include_url=False)
    ]
    named = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
    return ControlError(
        422, "invalid_body", f"invalid field(s): {named}", fields=fields
    )


# -- handlers -----------------------------------------------------------------------------


async def _health(
    fake: FakeCentral, request: web.Request, ex: Exchange
) -> web.StreamResponse:
    return json_response(
        {"status": "ok", "time": _iso(fake), "frozen": fake.clock.frozen}
    )


async def _reset(
    fake: FakeCentral, request: web.Request, ex: Exchange
) -> web.StreamResponse:
    await _json_object(request, required=False)
    fake.reset()
    return json_response({"status": "reset", "time": _iso(fake)})


async def _get_config(
    fake: FakeCentral, request: web.Request, ex: Exchange
) -> web.StreamResponse:
    return json_response(fake.config.model_dump(mode="json"))


async def _set_config(
    fake: FakeCentral, request: web.Request, ex: Exchange
) -> web.StreamResponse:
    changes = await _json_object(request, required=True) or {}
    try:
        config = fake.configure(**changes)
    except ValidationError as error:
        raise _invalid(error) from None
    return json_response(config.model_dump(mode="json"))


async def _get_clock(
    fake: FakeCentral, request: web.Request, ex: Exchange
) -> web.StreamResponse:
    return json_response({"time": _iso(fake), "frozen": fake.clock.frozen})


async def _set_clock(
    fake: FakeCentral, request: web.Request, ex: Exchange
) -> web.StreamResponse:
    change = _validated(ClockRequest, await _json_object(request, required=True))
    if change.set is not None:
        fake.clock.set(change.set)
    if change.advance is not None:
        fake.clock.advance(change.advance)
    if change.freeze is True:
        fake.clock.freeze()
    elif change.freeze is False:
        fake.clock.unfreeze()
    return json_response({"time": _iso(fake), "frozen": fake.clock.frozen})


async def _list_apps(
    fake: FakeCentral, request: web.Request, ex: Exchange
) -> web.StreamResponse:
    apps = [fake.app_status(info.client_id) for info in fake.tokens.apps()]
    return json_response({"apps": apps})


async def _create_app(
    fake: FakeCentral, request: web.Request, ex: Exchange
) -> web.StreamResponse:
    wanted = _validated(AppRequest, await _json_object(request, required=False))
    info = fake.create_app(
        wanted.cluster or fake.config.default_cluster,
        wanted.app_type,
        wanted.customer_id,
    )
    ex.client_id = info.client_id
    return json_response(info.model_dump())


async def _show_app(
    fake: FakeCentral, request: web.Request, ex: Exchange
) -> web.StreamResponse:
    ex.client_id = ex.path_params["client_id"]
    return json_response(fake.app_status(ex.client_id))


async def _mint(
    fake: FakeCentral, request: web.Request, ex: Exchange
) -> web.StreamResponse:
    await _json_object(request, required=False)
    ex.client_id = ex.path_params["client_id"]
    try:
        pair = fake.mint(ex.client_id)
    except MintRefused as refused:
        ex.outcome = "mint_refused"
        body = {
            "error": str(refused),
            "message": str(refused),
            "retry_after": refused.retry_after,
        }
        return json_response(body, 429, {"Retry-After": str(refused.retry_after)})
    ex.outcome = "minted"
    return json_response(pair.model_dump(), 200, {"Cache-Control": "no-store"})


async def _load_inventory(
    fake: FakeCentral, request: web.Request, ex: Exchange
) -> web.StreamResponse:
    wanted = _validated(InventoryRequest, await _json_object(request, required=True))
    tenant = fake.load_inventory(
        wanted.customer_id,
        sites=wanted.sites,
        devices=wanted.devices,
        seed=wanted.seed,
        unmonitored_fraction=wanted.unmonitored_fraction,
    )
    return json_response(tenant.summary())


async def _show_tenant(
    fake: FakeCentral, request: web.Request, ex: Exchange
) -> web.StreamResponse:
    return json_response(fake.tenant(ex.path_params["customer_id"]).summary())


async def _change_tenant(
    fake: FakeCentral, request: web.Request, ex: Exchange
) -> web.StreamResponse:
    change = _validated(TenantChange, await _json_object(request, required=True))
    tenant = fake.tenant(ex.path_params["customer_id"])
    tenant.remove_sites(change.remove_sites, from_start=change.remove_from_start)
    tenant.add_sites(change.add_sites)
    tenant.remove_devices(change.remove_devices)
    tenant.add_devices(change.add_devices, change.device_kind)
    return json_response(tenant.summary())


async def _list_faults(
    fake: FakeCentral, request: web.Request, ex: Exchange
) -> web.StreamResponse:
    return json_response({"faults": fake.faults.listing()})


async def _arm_fault(
    fake: FakeCentral, request: web.Request, ex: Exchange
) -> web.StreamResponse:
    spec = _validated(FaultSpec, await _json_object(request, required=True))
    return json_response({"id": fake.arm_fault(spec)})


async def _clear_faults(
    fake: FakeCentral, request: web.Request, ex: Exchange
) -> web.StreamResponse:
    return json_response({"cleared": fake.clear_faults()})


async def _remove_fault(
    fake: FakeCentral, request: web.Request, ex: Exchange
) -> web.StreamResponse:
    fault_id = ex.path_params["fault_id"]
    if not fake.faults.remove(fault_id):
        raise ControlError(404, "unknown_fault", f"no armed fault has id {fault_id!r}")
    return json_response({"cleared": 1})


async def _journal(
    fake: FakeCentral, request: web.Request, ex: Exchange
) -> web.StreamResponse:
    query = request.query
    since = _query_int(query.get("since"), "since")
    limit = _query_int(query.get("limit"), "limit")
    entries = fake.journal_since(
        since or 0,
        client_id=query.get("client_id"),
        path=query.get("path"),
        limit=limit,
    )
    return json_response(
        {
            "entries": [entry.model_dump(mode="json") for entry in entries],
            "last_seq": fake.journal_log.last_seq,
        }
    )


def _query_int(raw: str | None, name: str) -> int | None:
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()):
        raise ControlError(
            400, "invalid_query", f"'{name}' must be a whole number >= 0, got '{raw}'"
        )
    return int(raw)


def _iso(fake: FakeCentral) -> str:
    return fake.clock.now().astimezone(UTC).isoformat()


# -- routing ------------------------------------------------------------------------------

_ROUTES: Final[list[tuple[str, dict[str, ControlHandler], frozenset[str]]]] = [
    ("/_fake/health", {"GET": _health}, frozenset()),
    ("/_fake/reset", {"POST": _reset}, frozenset()),
    ("/_fake/config", {"GET": _get_config, "POST": _set_config}, frozenset()),
    ("/_fake/clock", {"GET": _get_clock, "POST": _set_clock}, frozenset()),
    ("/_fake/apps", {"GET": _list_apps, "POST": _create_app}, frozenset()),
    ("/_fake/apps/{client_id}", {"GET": _show_app}, frozenset()),
    ("/_fake/apps/{client_id}/tokens", {"POST": _mint}, frozenset()),
    ("/_fake/inventory", {"POST": _load_inventory}, frozenset()),
    (
        "/_fake/tenants/{customer_id}",
        {"GET": _show_tenant, "POST": _change_tenant},
        frozenset(),
    ),
    (
        "/_fake/faults",
        {"GET": _list_faults, "POST": _arm_fault, "DELETE": _clear_faults},
        frozenset(),
    ),
    ("/_fake/faults/{fault_id}", {"DELETE": _remove_fault}, frozenset()),
    (
        "/_fake/journal",
        {"GET": _journal},
        frozenset({"since", "client_id", "path", "limit"}),
    ),
]


def control_routes() -> list[str]:
    """``METHOD path`` for every control route."""
    return [
        f"{method} {pattern}" for pattern, methods, _ in _ROUTES for method in methods
    ]


def _match(
    path: str,
) -> tuple[dict[str, ControlHandler], frozenset[str], dict[str, str]] | None:
    parts = path.rstrip("/").split("/")
    for pattern, methods, params in _ROUTES:
        wanted = pattern.split("/")
        if len(wanted) != len(parts):
            continue
        captured: dict[str, str] = {}
        for want, got in zip(wanted, parts, strict=True):
            if want.startswith("{"):
                if not got:
                    break
                captured[want[1:-1]] = got
            elif want != got:
                break
        else:
            return methods, params, captured
    return None


async def handle(
    fake: FakeCentral, request: web.Request, ex: Exchange, path: str, method: str
) -> web.StreamResponse:
    """Answer one ``/_fake/`` request (routing, validation, error shaping)."""
    found = _match(path)
    if found is None:
        return fake_error(
            "unknown_control_route",
            f"the control API has no {path}",
            404,
            control=control_routes(),
        )
    methods, allowed_params, ex.path_params = found
    handler = methods.get(method)
    if handler is None:
        allowed = ", ".join(sorted(methods))
        response = fake_error(
            "method_not_allowed", f"{path} answers {allowed} only", 405
        )
        response.headers["Allow"] = allowed
        return response
    try:
        _check_query(request, allowed_params)
        return await handler(fake, request, ex)
    except ControlError as error:
        return error.response
    except (UnknownClient, UnknownCustomer) as error:
        return fake_error("not_found", str(error), 404)
    except (FakeCentralError, ValueError) as error:
        return fake_error("invalid_request", str(error), 400)


def _check_query(request: web.Request, allowed: frozenset[str]) -> None:
    unknown = sorted(set(request.query) - allowed)
    if unknown:
        accepted = ", ".join(sorted(allowed)) or "none"
        raise ControlError(
            400,
            "invalid_query",
            f"unknown query parameter(s) {', '.join(unknown)}; this route accepts: {accepted}",
        )
