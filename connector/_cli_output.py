"""What ``central-connector`` prints: JSON documents and rich text.

Every command builds one JSON-ready document (``--json`` prints it as it is) and,
for people, a few lines of text and tables on a :class:`rich.console.Console`.
Nothing here reads the database or talks to Central: the commands in
:mod:`connector.cli` pass in what they found.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from rich.console import Console
from rich.table import Table

from connector.client import KeepAlive
from connector.store import CustomerView, SitePanelRow, SiteRef, SyncRun
from connector.sync import SyncResult

__all__ = [
    "count",
    "customer_document",
    "keep_alive_document",
    "panel_document",
    "show_connected",
    "show_customer",
    "show_keep_alive",
    "show_panel",
    "show_sync",
    "site_document",
    "sync_document",
]

# --- JSON documents -------------------------------------------------------------


def site_document(site: SiteRef) -> dict[str, Any]:
    return site._asdict()


def panel_document(panel: list[SitePanelRow], last: SyncRun | None) -> dict[str, Any]:
    return {
        "sites": [
            {**row._asdict(), "gone": row.gone_since is not None} for row in panel
        ],
        "last_sync": None if last is None else _run_document(last),
    }


def sync_document(result: SyncResult) -> dict[str, Any]:
    lists = {
        name: {**asdict(outcome), "partial": outcome.partial}
        for name, outcome in result.lists.items()
    }
    return {**_run_document(result.run), "partial": result.partial, "lists": lists}


def customer_document(view: CustomerView) -> dict[str, Any]:
    return {
        "customer": view.customer,
        "sites": [
            {
                "site_id": site.site_id,
                "name": site.name,
                "gone": site.gone_since is not None,
                "devices": [device._asdict() for device in site.devices],
            }
            for site in view.sites
        ],
    }


def keep_alive_document(result: KeepAlive) -> dict[str, Any]:
    return {
        "rotated": result.rotated,
        "last_rotation": result.last_rotation.isoformat(),
        "next_due": result.next_due.isoformat(),
    }


def _run_document(run: SyncRun) -> dict[str, Any]:
    return {name: value for name, value in asdict(run).items() if name != "detail"}


# --- text ---------------------------------------------------------------------


def show_connected(console: Console, gateway: str, sites: int) -> None:
    console.print(
        f"Connected to Aruba Central ({gateway}): "
        f"the app can see {count(sites, 'site')}.",
        markup=False,
    )


def show_keep_alive(console: Console, result: KeepAlive) -> None:
    due = f"{result.next_due:%Y-%m-%d %H:%M} UTC"
    if result.rotated:
        text = f"Rotated the token pair; the next rotation is due after {due}."
    else:
        rotated = f"{result.last_rotation:%Y-%m-%d %H:%M} UTC"
        text = f"The token pair was rotated at {rotated}; nothing to do until {due}."
    console.print(text, markup=False)


def show_sync(console: Console, result: SyncResult) -> None:
    run = result.run
    console.print(
        f"Synced {count(run.sites, 'site')} and {count(run.devices, 'device')} "
        f"({run.unknown_status} never checked in) with "
        f"{count(run.requests, 'request')}.",
        markup=False,
    )
    if run.new_sites or run.gone_sites:
        console.print(f"{run.new_sites} new, {run.gone_sites} gone from Central.")
    for outcome in result.lists.values():
        for reason in outcome.reasons:
            console.print(f"Partial: {outcome.name}: {reason}", markup=False)


def show_panel(
    console: Console, panel: list[SitePanelRow], last: SyncRun | None
) -> None:
    if last is None:
        console.print("No sync yet: run `central-connector sync` first.", markup=False)
    table = Table("Site", "ID", "Devices", "Customer", title="Sites")
    for row in panel:
        name = row.name if row.gone_since is None else f"{row.name} (gone)"
        table.add_row(
            name, str(row.site_id), str(row.devices), row.customer or "unmapped"
        )
    console.print(table)
    mapped = sum(1 for row in panel if row.customer)
    console.print(f"{mapped} of {len(panel)} sites mapped.")


def show_customer(console: Console, view: CustomerView) -> None:
    devices = sum(len(site.devices) for site in view.sites)
    console.print(
        f"Customer {view.customer!r}: {count(len(view.sites), 'site')}, "
        f"{count(devices, 'device')}.",
        markup=False,
    )
    for site in view.sites:
        gone = ", gone from Central" if site.gone_since else ""
        title = f"{site.name} (id {site.site_id}{gone})"
        table = Table(
            "Serial", "Type", "Model", "MAC", "Status", "Firmware", title=title
        )
        for device in site.devices:
            table.add_row(
                device.serial,
                device.kind,
                device.model or "",
                device.mac or "",
                device.status,
                device.firmware or "",
            )
        console.print(table)


def count(number: int | None, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
