"""``fake-central``: run the fake gateway from a shell.

``fake-central serve`` starts a deterministic demo tenant (from ``--seed``) and
prints the five values a user pastes into an integration, plus the listening
URL; ``--credentials-out`` writes the five as JSON. ``fake-central replay``
replays QA scenario files (implemented in ``fake_central.replay``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
from pathlib import Path
from typing import Any, ClassVar

import click

from fake_central.clusters import CLUSTERS, cluster_name
from fake_central.config import FakeConfig
from fake_central.core import FakeCentral
from fake_central.testing import FakeServer, RunningFake

__all__ = ["main"]

_CREDENTIAL_KEYS = (
    "gateway_url",
    "client_id",
    "client_secret",
    "access_token",
    "refresh_token",
)


class _Commands(click.Group):
    """A group that loads subcommands living in optional modules on first use."""

    # Subcommands implemented elsewhere in the package: name -> (module, attribute).
    # The replay runner lives in fake_central.replay (owned by the QA tooling).
    lazy: ClassVar[dict[str, tuple[str, str]]] = {
        "replay": ("fake_central.replay", "replay_command")
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is not None or cmd_name not in self.lazy:
            return found
        module_name, attribute = self.lazy[cmd_name]
        try:
            module = __import__(module_name, fromlist=[attribute])
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            raise click.UsageError(
                f"'{cmd_name}' is not available: {module_name} is not installed"
            ) from None
        command = getattr(module, attribute)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=_Commands)
def main() -> None:
    """A fake HPE Aruba Central (Classic) API gateway."""


def _cluster(ctx: click.Context, param: click.Parameter, value: str) -> str:
    canonical = cluster_name(value)
    if canonical is None:
        raise click.BadParameter(
            f"unknown cluster {value!r}; choose from {', '.join(CLUSTERS)}"
        )
    return canonical


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--port",
    default=8080,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to bind; 0 picks a free one.",
)
@click.option("--tls", is_flag=True, help="Serve HTTPS with a throwaway CA.")
@click.option(
    "--ca-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the throwaway CA certificate (PEM) here (with --tls).",
)
@click.option(
    "--credentials-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the five integration values here as JSON.",
)
@click.option(
    "--scenario",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Start from a QA scenario file's state instead of the demo tenant.",
)
@click.option(
    "--default-cluster",
    default="US-2",
    show_default=True,
    callback=_cluster,
    help="Cluster for requests addressed to 127.0.0.1/localhost.",
)
@click.option(
    "--seed", default=0, show_default=True, type=int, help="Demo tenant seed."
)
@click.option(
    "-v", "--verbose", is_flag=True, help="Log one line per request to stderr."
)
def serve(
    host: str,
    port: int,
    tls: bool,
    ca_out: Path | None,
    credentials_out: Path | None,
    scenario: Path | None,
    default_cluster: str,
    seed: int,
    verbose: bool,
) -> None:
    """Serve the fake gateway until interrupted (SIGINT or SIGTERM)."""
    if ca_out is not None and not tls:
        raise click.UsageError("--ca-out needs --tls (plain HTTP has no CA to write)")
    if verbose:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(name)s %(message)s"
        )
    fake = FakeCentral(FakeConfig(default_cluster=default_cluster))
    credentials = _scenario_credentials(fake, scenario) if scenario else fake.demo(seed)
    server = FakeServer(fake, tls=tls, host=host, port=port, ca_out=ca_out)
    asyncio.run(_serve(server, credentials, credentials_out))


def _scenario_credentials(fake: FakeCentral, path: Path) -> dict[str, str]:
    """Apply a scenario file's starting state; returns the credentials it made."""
    try:
        from fake_central.scenario import load_scenario  # optional QA module
    except ModuleNotFoundError as error:
        raise click.UsageError(
            f"--scenario needs fake_central.scenario, which is not available ({error})"
        ) from None
    try:
        loaded: Any = load_scenario(path)
    except ValueError as error:  # ScenarioError is a ValueError
        raise click.BadParameter(str(error), param_hint="--scenario") from None
    # Wiring point: a loaded scenario applies its starting state to the fake
    # (apps, tokens, inventory, clock) and reports the credentials it minted.
    state = loaded.apply_state(fake)
    credentials = dict(getattr(state, "credentials", {}) or {})
    if set(credentials) != set(_CREDENTIAL_KEYS):
        raise click.UsageError(
            f"scenario {path} did not produce integration credentials"
        )
    return credentials


async def _serve(
    server: FakeServer, credentials: dict[str, str], credentials_out: Path | None
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    running = await server.start()
    try:
        if credentials_out is not None:
            _write_credentials(credentials_out, credentials)
        _announce(running, credentials, credentials_out)
        await stop.wait()
    finally:
        await server.close()
        click.echo("fake-central stopped", err=True)


def _write_credentials(path: Path, credentials: dict[str, str]) -> None:
    document = {key: credentials[key] for key in _CREDENTIAL_KEYS}
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2)
        handle.write("\n")


def _announce(
    running: RunningFake, credentials: dict[str, str], credentials_out: Path | None
) -> None:
    click.echo(f"fake-central listening on {running.url}")
    if running.ca_file is not None:
        click.echo(f"ca_file: {running.ca_file}")
    for key in _CREDENTIAL_KEYS:
        click.echo(f"{key}: {credentials[key]}")
    if credentials_out is not None:
        click.echo(f"credentials written to {credentials_out}")
    click.echo(
        f"connect to {running.host}:{running.port} and verify the gateway hostname; "
        f"control API at {running.url}/_fake/health. Stop with Ctrl-C.",
        err=True,
    )
