"""``central-connector``: test the pasted credentials, sync a tenant, map its sites.

::

    central-connector [--credentials FILE] [--db FILE] [--connect-to HOST:PORT]
                      [--ca-file FILE] [--timeout S] [--json] [-v] COMMAND

    test                   one cheap request: can these credentials read Central?
    sync                   read every site and device into the database
    sites                  the mapping panel: each site, its devices, its customer
    map SITE CUSTOMER      map a site (by name or id) to a customer
    unmap SITE             leave a site unmapped (hidden from every customer)
    customer CUSTOMER      that customer's sites and devices

``--json`` prints one JSON document on stdout, errors included
(``{"error": {"type": ..., "message": ...}}``). Exit codes:

====  ===========================================================================
0     success
1     an internal error (a bug: please report it)
2     bad input or credentials: a malformed credentials file, an unknown site,
      a database of another version, a gateway URL or refresh token Central refuses
3     permission: the API client may not read what the sync needs
4     rate limit: Central kept answering 429, or the day's budget is spent
      or too small to finish the sync
5     upstream: Central failed, timed out, or answered something malformed
====  ===========================================================================

The database (``--db``, default ``central-connector.db`` in the current folder) also
holds the rotated tokens, so the next command works with the same credentials file.
No secret is ever printed: error messages are scrubbed of the credentials' values.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from connector import CentralClient, Credentials, KeepAlive, SqliteTokenStore
from connector import _cli_output as output
from connector._sensitive import scrub
from connector._transport import Proxy
from connector.client import DEFAULT_KEEP_ALIVE_AGE
from connector.errors import (
    CentralError,
    InvalidCredentials,
    InvalidGatewayURL,
    PermissionDenied,
    RateLimited,
    RefreshTokenRejected,
    UpstreamError,
)
from connector.store import (
    Store,
    StoreError,
)
from connector.sync import LISTS, SyncResult, sync_tenant

__all__ = ["EXIT_CODES", "main"]


class BadInput(ValueError):
    """A command-line value the user must fix; exit code 2."""


EXIT_CODES: tuple[tuple[type[Exception], int], ...] = (
    (InvalidGatewayURL, 2),
    (InvalidCredentials, 2),
    (RefreshTokenRejected, 2),
    (StoreError, 2),
    (BadInput, 2),
    (PermissionDenied, 3),
    (RateLimited, 4),
    (UpstreamError, 5),
    (CentralError, 1),
)
"""Exception class -> exit code, most specific first."""


@dataclass
class Settings:
    """The common options, shared by every command."""

    credentials: Path | None
    db: Path
    connect_to: tuple[str, int] | None
    ca_file: Path | None
    timeout: float
    json: bool
    proxy: str | None = field(default=None, repr=False)  # may hold a password
    secrets: list[str] = field(default_factory=list)


# --- the command group ----------------------------------------------------------


class _Group(click.Group):
    """A group whose usage errors also come out as JSON under ``--json``."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        if not standalone_mode:
            return super().main(argv, prog_name, complete_var, False, **extra)
        try:
            code = super().main(argv, prog_name, complete_var, False, **extra)
        except click.ClickException as exc:
            if "--json" not in argv:
                exc.show()
            else:
                error = {"type": type(exc).__name__, "message": exc.format_message()}
                _emit_json({"error": error})
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


def _connect_to(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> tuple[str, int] | None:
    if value is None:
        return None
    host, colon, port = value.rpartition(":")
    host = host.strip("[]")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise click.BadParameter(
            f"{value!r} is not HOST:PORT; for example 127.0.0.1:8443", ctx, param
        )
    return host, int(port)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--credentials",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="CENTRAL_CONNECTOR_CREDENTIALS",
    help="JSON file with gateway_url, client_id, client_secret, access_token, "
    "refresh_token (what `fake-central --credentials-out` writes).",
)
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("central-connector.db"),
    show_default=True,
    help="SQLite file holding the snapshot, the mapping and the rotated tokens.",
)
@click.option(
    "--connect-to",
    metavar="HOST:PORT",
    callback=_connect_to,
    help="Connect here instead of the gateway's address (TLS still checks its name).",
)
@click.option(
    "--ca-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="PEM file of the certificate authorities to trust instead of the system's.",
)
@click.option(
    "--proxy",
    metavar="URL",
    envvar="CENTRAL_CONNECTOR_PROXY",
    help="HTTP proxy that tunnels to Central, e.g. http://user:password@proxy:3128 "
    "(the password is never printed).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    help="Seconds to wait for each answer from Central.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.option("-v", "--verbose", count=True, help="Log to stderr (-v info, -vv debug).")
@click.pass_context
def main(
    ctx: click.Context,
    credentials: Path | None,
    db: Path,
    connect_to: tuple[str, int] | None,
    ca_file: Path | None,
    proxy: str | None,
    timeout: float,
    as_json: bool,
    verbose: int,
) -> None:
    """Read HPE Aruba Central (Classic) into a local database, one tenant at a time."""
    _configure_logging(verbose)
    if proxy is not None and connect_to is not None:
        raise click.UsageError(
            "--connect-to and --proxy cannot be combined: through a proxy, the proxy "
            "dials the gateway"
        )
    ctx.obj = Settings(credentials, db, connect_to, ca_file, timeout, as_json, proxy)
    if proxy is not None:
        ctx.obj.secrets.extend(_proxy_password(proxy))


# --- commands -------------------------------------------------------------------


@main.command("test")
@click.pass_obj
def test_command(settings: Settings) -> None:
    """Check the credentials with one cheap request."""
    with _reported(settings):
        credentials = _credentials(settings)
        with _store(settings, create=True):
            total = asyncio.run(_count_sites(settings, credentials))

    gateway = credentials.host
    _emit(
        settings,
        {"connected": True, "gateway": gateway, "sites": total},
        lambda console: output.show_connected(console, gateway, total),
    )


@main.command("sync")
@click.pass_obj
def sync_command(settings: Settings) -> None:
    """Read every site and device into the database."""
    with _reported(settings):
        credentials = _credentials(settings)
        with _store(settings, create=True) as store:
            result = asyncio.run(_sync(settings, credentials, store))

    _emit(
        settings,
        output.sync_document(result),
        lambda console: output.show_sync(console, result),
    )


@main.command("keep-alive")
@click.option(
    "--max-age",
    type=click.FloatRange(min=0, max=14, min_open=True, max_open=True),
    default=DEFAULT_KEEP_ALIVE_AGE.days,
    show_default=True,
    metavar="DAYS",
    help="Rotate the token pair when its last rotation is this many days old.",
)
@click.pass_obj
def keep_alive_command(settings: Settings, max_age: float) -> None:
    """Rotate the token pair if it is due, so an idle tenant stays authorised.

    Central drops a refresh token left unused for about two weeks. Run this
    daily (from cron, say): it sends nothing until the pair is --max-age days old.
    """
    with _reported(settings):
        credentials = _credentials(settings)
        with _store(settings, create=True):
            result = asyncio.run(_keep_alive(settings, credentials, max_age))

    _emit(
        settings,
        output.keep_alive_document(result),
        lambda console: output.show_keep_alive(console, result),
    )


@main.command("sites")
@click.pass_obj
def sites_command(settings: Settings) -> None:
    """Show every site, its device count and its customer."""
    with _reported(settings), _store(settings) as store:
        panel = store.sites_panel()
        last = store.last_run()

    _emit(
        settings,
        output.panel_document(panel, last),
        lambda console: output.show_panel(console, panel, last),
    )


@main.command("map")
@click.argument("site")
@click.argument("customer")
@click.pass_obj
def map_command(settings: Settings, site: str, customer: str) -> None:
    """Map SITE (name or id) to CUSTOMER."""
    with _reported(settings), _store(settings) as store:
        found, previous = store.map_site(site, customer)
        customer = customer.strip()

    was = f" (was {previous!r})" if previous and previous != customer else ""
    note = " The site is gone from Central." if found.gone_since else ""
    _emit(
        settings,
        {
            "site": output.site_document(found),
            "customer": customer,
            "previous": previous,
        },
        lambda console: console.print(
            f"Mapped site {found.name!r} (id {found.site_id}) to customer "
            f"{customer!r}{was}.{note}",
            markup=False,
        ),
    )


@main.command("unmap")
@click.argument("site")
@click.pass_obj
def unmap_command(settings: Settings, site: str) -> None:
    """Leave SITE (name or id) unmapped, hidden from every customer."""
    with _reported(settings), _store(settings) as store:
        found, previous = store.unmap_site(site)

    was = f"was mapped to {previous!r}" if previous else "was not mapped"
    _emit(
        settings,
        {"site": output.site_document(found), "customer": None, "previous": previous},
        lambda console: console.print(
            f"Site {found.name!r} (id {found.site_id}) is unmapped; it {was}.",
            markup=False,
        ),
    )


@main.command("customer")
@click.argument("customer")
@click.pass_obj
def customer_command(settings: Settings, customer: str) -> None:
    """Show CUSTOMER's sites and their devices."""
    with _reported(settings), _store(settings) as store:
        view = store.customer_view(customer)
        if not view.sites:
            known = ", ".join(repr(name) for name in store.customers()) or "none yet"
            raise BadInput(
                f"no site is mapped to customer {customer!r} (customers: {known}); "
                "map one with `central-connector map SITE CUSTOMER`"
            )

    _emit(
        settings,
        output.customer_document(view),
        lambda console: output.show_customer(console, view),
    )


def _emit(
    settings: Settings, document: dict[str, Any], show: Callable[[Console], None]
) -> None:
    """One JSON document under ``--json``, else text for people."""
    if settings.json:
        _emit_json(document)
    else:
        show(Console(highlight=False, soft_wrap=True))


def _emit_json(document: dict[str, Any]) -> None:
    click.echo(json.dumps(document, indent=2, sort_keys=True))


# --- talking to Central -----------------------------------------------------------


def _proxy_password(proxy: str) -> list[str]:
    """The password in a proxy URL, to scrub from anything printed."""
    try:
        return list(Proxy.parse(proxy).secrets())
    except InvalidCredentials:
        return []  # the client reports the malformed URL, naming no password


def _client(settings: Settings, credentials: Credentials) -> CentralClient:
    return CentralClient(
        credentials,
        store=SqliteTokenStore(settings.db),
        connect_to=settings.connect_to,
        proxy=settings.proxy,
        ca_file=settings.ca_file,
        timeout=settings.timeout,
    )


async def _count_sites(settings: Settings, credentials: Credentials) -> int:
    """One request: the first site, and the total the app can see."""
    async with _client(settings, credentials) as client:
        page = await client.list_sites(offset=0, limit=1)
    return page.total


async def _keep_alive(
    settings: Settings, credentials: Credentials, max_age: float
) -> KeepAlive:
    async with _client(settings, credentials) as client:
        return await client.keep_alive(timedelta(days=max_age))


async def _sync(
    settings: Settings, credentials: Credentials, store: Store
) -> SyncResult:
    async with _client(settings, credentials) as client:
        with _progress_bar(enabled=_stderr_is_terminal()) as progress:
            return await sync_tenant(client, store, progress=progress)


def _stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


@contextmanager
def _progress_bar(*, enabled: bool) -> Iterator[Callable[[str, int, int | None], None]]:
    """A rich progress bar on stderr, one line per list; silent when not enabled."""
    if not enabled:
        yield lambda name, received, expected: None
        return

    columns = (TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn())
    console = Console(stderr=True, force_terminal=True)
    with Progress(*columns, console=console, transient=True) as bar:
        tasks = {name: bar.add_task(name, total=None) for name in LISTS}

        def update(name: str, received: int, expected: int | None) -> None:
            bar.update(tasks[name], completed=received, total=expected)

        yield update


# --- files ---------------------------------------------------------------------


def _credentials(settings: Settings) -> Credentials:
    if settings.credentials is None:
        raise BadInput(
            "this command needs --credentials FILE: a JSON object with gateway_url, "
            "client_id, client_secret, access_token and refresh_token"
        )
    credentials = Credentials.from_file(settings.credentials)
    settings.secrets.extend(credentials.secret_values())
    return credentials


def _store(settings: Settings, *, create: bool = False) -> Store:
    return Store.open(settings.db, create=create)


# --- errors -----------------------------------------------------------------------


@contextmanager
def _reported(settings: Settings) -> Iterator[None]:
    """Turn the errors a user can act on into a message and an exit code."""
    try:
        yield
    except Exception as exc:
        code = next((code for kind, code in EXIT_CODES if isinstance(exc, kind)), None)
        if code is None:
            raise
        _fail(settings, exc, code)


def _fail(settings: Settings, exc: Exception, code: int) -> NoReturn:
    message = scrub(str(exc), settings.secrets)
    if settings.json:
        _emit_json({"error": {"type": type(exc).__name__, "message": message}})
    else:
        click.echo(f"Error: {message}", err=True)
    raise click.exceptions.Exit(code)


def _configure_logging(verbose: int) -> None:
    """Log the ``connector`` tree to stderr: INFO with ``-v``, DEBUG with ``-vv``."""
    logger = logging.getLogger("connector")
    logger.removeHandler(_LOG_HANDLER)
    if not verbose:
        return
    _LOG_HANDLER.setStream(sys.stderr)
    logger.addHandler(_LOG_HANDLER)
    logger.setLevel(logging.DEBUG if verbose > 1 else logging.INFO)


_LOG_HANDLER = logging.StreamHandler()
_LOG_HANDLER.setFormatter(
    logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s")
)
