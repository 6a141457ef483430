"""Replay QA scenarios: the fake on loopback, the connector's CLI against it.

``fake-central replay [FILE|DIR ...]`` loads each scenario (see
:mod:`fake_central.scenario`), starts a fresh :class:`FakeCentral` with TLS on
127.0.0.1, applies the starting state, and walks the timeline. Connector commands
run as subprocesses, exactly as a user would type them::

    central-connector --json --credentials F --db F --connect-to 127.0.0.1:PORT \\
        --ca-file F [--timeout S] COMMAND

``fake_central`` never imports ``connector``; the two meet over HTTPS and files.
The fake stays in this process, on the same event loop as the subprocesses'
pipes, so a step can move its clock or change its data while a command runs
(``during``), and the checks read its journal afterwards.

Every scenario ends with a verdict: the last command's exit code, error type and
output against ``expect``, plus checks over the journal (refresh count, requests
that carried a rotated-away token, requests refused by the per-second limit) and
over the captured output (no secret the runner handed out may appear in it).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from fake_central._replay_results import (
    CommandResult,
    ScenarioResult,
    junit_xml,
    lookup,
    pacing_failures,
    parse_document,
    print_table,
    truth_mismatches,
    why,
)
from fake_central.clock import FakeClock
from fake_central.core import FakeCentral
from fake_central.errors import MintRefused
from fake_central.oauth import TokenPair
from fake_central.scenario import (
    AdvanceStep,
    ClearFaultsStep,
    ConfigStep,
    CredentialsStep,
    FaultStep,
    FinalExpect,
    InventoryChange,
    InventoryStep,
    MintStep,
    Outcome,
    RefreshElsewhereStep,
    RunStep,
    Scenario,
    ScenarioError,
    ScenarioState,
    SetClockStep,
    load_inventory_change,
    load_scenarios,
)
from fake_central.testing import serve_fake

__all__ = [
    "CommandResult",
    "ScenarioResult",
    "connector_command",
    "junit_xml",
    "print_table",
    "replay_command",
    "replay_paths",
    "run_scenario",
    "run_scenarios",
]

logger = logging.getLogger("fake_central.replay")

COMMAND_LIMIT = 60.0
"""Seconds one connector command may take before the runner kills it."""

_PLACEHOLDER = re.compile(r"\{(site|site_name):(\d+)\}")
_STALE = frozenset({"rotated"})
"""Token states of a request that carried an access token rotated away."""


# --- running one scenario ------------------------------------------------------


def connector_command() -> list[str]:
    """How to start the connector's CLI: ``central-connector`` beside this Python."""
    beside = Path(sys.executable).with_name("central-connector")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("central-connector")
    if found is None:
        raise click.ClickException(
            "cannot find the central-connector command; install the project "
            "(pip install -e .) or pass --connector PATH"
        )
    return [found]


class _Replay:
    """The state of one scenario while it runs."""

    def __init__(self, scenario: Scenario, workdir: Path, connector: Sequence[str]):
        self.scenario = scenario
        self.connector = list(connector)
        self.credentials_file = workdir / "credentials.json"
        self.db = workdir / "connector.db"
        self.failures: list[str] = []
        self.commands: list[CommandResult] = []
        start = scenario.start
        self.fake = FakeCentral(clock=FakeClock(start=start.clock, frozen=start.frozen))
        self.state = ScenarioState()
        self.copies: dict[str, TokenPair] = {}
        """The other integration's copy of each app's pair."""
        self.secrets: set[str] = set()

    @property
    def client_id(self) -> str:
        return self.state.apps[self.scenario.connector_app].client_id

    async def run(self) -> CommandResult | None:
        """Apply the starting state, serve the fake, walk the timeline."""
        self.state = self.scenario.apply_state(self.fake)
        self.copies = dict(self.state.pairs)
        self.secrets = {pair.access_token for pair in self.copies.values()}
        self.secrets |= {pair.refresh_token for pair in self.copies.values()}
        self._write_credentials()

        async with serve_fake(self.fake, tls=True) as running:
            self.address = f"{running.host}:{running.port}"
            self.ca_file = running.ca_file
            for index, step in enumerate(self.scenario.timeline):
                where = f"timeline[{index}]"
                if isinstance(step, RunStep):
                    await self._run(where, step)
                else:
                    self.act(where, step)
        return self.commands[-1] if self.commands else None

    # -- connector commands ------------------------------------------------------

    async def _run(self, where: str, step: RunStep) -> None:
        argv = [self._fill(where, word) for word in step.run]
        options = ["--json", "--credentials", str(self.credentials_file)]
        options += ["--db", str(self.db), "--connect-to", self.address]
        options += ["--ca-file", str(self.ca_file)]
        if self.scenario.connector.timeout is not None:
            options += ["--timeout", str(self.scenario.connector.timeout)]

        began = time.monotonic()
        triggers = _Triggers(self, where, step)
        try:
            process = await asyncio.create_subprocess_exec(
                *self.connector,
                *options,
                *argv,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            stdout, stderr = await self._finish(where, argv, process)
        finally:
            triggers.remove()
        self.failures += triggers.unfired()

        result = CommandResult(
            command=argv,
            exit_code=process.returncode if process.returncode is not None else -1,
            stdout=self._mask(stdout.decode(errors="replace")),
            stderr=self._mask(stderr.decode(errors="replace")),
            seconds=time.monotonic() - began,
        )
        result.document = parse_document(result.stdout)
        self._check_secrets(where, stdout + stderr)
        self.commands.append(result)
        if step.expect is not None:
            self.check(f"{where} {' '.join(argv)}", step.expect, result)

    async def _finish(
        self, where: str, argv: list[str], process: asyncio.subprocess.Process
    ) -> tuple[bytes, bytes]:
        try:
            return await asyncio.wait_for(process.communicate(), COMMAND_LIMIT)
        except TimeoutError:
            process.kill()
            self.failures.append(
                f"{where}: {' '.join(argv)} ran over {COMMAND_LIMIT} s"
            )
            return await process.communicate()

    def _fill(self, where: str, word: str) -> str:
        """Replace ``{site:N}`` / ``{site_name:N}`` with the tenant's N-th site."""
        sites = self.fake.tenant(self._customer()).sites

        def site(match: re.Match[str]) -> str:
            index = int(match.group(2))
            if index >= len(sites):
                self.failures.append(
                    f"{where}: {word} names site #{index}; the tenant has {len(sites)}"
                )
                return match.group(0)
            key = "site_id" if match.group(1) == "site" else "site_name"
            return str(sites[index][key])

        return _PLACEHOLDER.sub(site, word)

    # -- timeline actions ----------------------------------------------------------

    def act(self, where: str, step: Any) -> None:
        """Carry out one timeline step other than ``run``."""
        # Clock moves.
        if isinstance(step, AdvanceStep):
            self.fake.clock.advance(step.advance)
        elif isinstance(step, SetClockStep):
            self.fake.clock.set(step.set_clock)
        # Faults.
        elif isinstance(step, FaultStep):
            self.fake.arm_fault(step.fault)
        elif isinstance(step, ClearFaultsStep):
            self.fake.clear_faults()
        # What the user and other integrations do.
        elif isinstance(step, RefreshElsewhereStep):
            self._refresh_elsewhere(where, step.refresh_elsewhere)
        elif isinstance(step, MintStep):
            self._mint(where, step)
        elif isinstance(step, CredentialsStep):
            self.state.credentials.update(step.credentials)
            self._write_credentials()
        # The gateway's data and settings.
        elif isinstance(step, InventoryStep):
            self._change_inventory(step.inventory)
        elif isinstance(step, ConfigStep):
            self.fake.configure(**step.config)

    def _refresh_elsewhere(self, where: str, app_name: str) -> None:
        """Another integration refreshes its copy of the pair, as Kong would."""
        app, copy = self.state.apps[app_name], self.copies.get(app_name)
        if copy is None:
            self.failures.append(
                f"{where}: app {app_name!r} has no pair; mint one first"
            )
            return
        outcome = self.fake.tokens.refresh(
            app.cluster, app.client_id, app.client_secret, copy.refresh_token
        )
        if outcome.pair is None:
            self.failures.append(
                f"{where}: the other integration's refresh was refused "
                f"({outcome.outcome}, {outcome.detail}); its copy of the pair was spent"
            )
            return
        self.copies[app_name] = outcome.pair
        self.secrets |= {outcome.pair.access_token, outcome.pair.refresh_token}

    def _mint(self, where: str, step: MintStep) -> None:
        name = step.mint.app or self.scenario.connector_app
        try:
            pair = self.fake.mint(self.state.apps[name].client_id)
        except MintRefused as refused:
            if step.mint.expect == "ok":
                self.failures.append(f"{where}: mint refused: {refused}")
            return
        if step.mint.expect == "refused":
            self.failures.append(f"{where}: expected the mint to be refused; it worked")
        self.copies[name] = pair
        self.secrets |= {pair.access_token, pair.refresh_token}
        if step.mint.paste and name == self.scenario.connector_app:
            self.state.credentials["access_token"] = pair.access_token
            self.state.credentials["refresh_token"] = pair.refresh_token
            self._write_credentials()

    def _change_inventory(self, change: InventoryChange) -> None:
        name = change.app or self.scenario.connector_app
        load_inventory_change(self.fake, self.state.apps[name].customer_id, change)

    def _customer(self) -> str:
        return self.state.apps[self.scenario.connector_app].customer_id

    def _write_credentials(self) -> None:
        text = json.dumps(self.state.credentials, indent=2)
        self.credentials_file.write_text(text, encoding="utf-8")
        self.credentials_file.chmod(0o600)

    # -- checks ------------------------------------------------------------------

    def check(self, where: str, expect: Outcome, result: CommandResult) -> None:
        """Compare one command's result with what the scenario expects."""
        self.failures += [
            f"{where}: {problem}" for problem in self._mismatches(expect, result)
        ]

    def _mismatches(self, expect: Outcome, result: CommandResult) -> list[str]:
        found: list[str] = []
        if expect.exit is not None and result.exit_code != expect.exit:
            found.append(
                f"exit {result.exit_code}, expected {expect.exit}{why(result)}"
            )
        if expect.error is not None:
            names = expect.error if isinstance(expect.error, list) else [expect.error]
            if result.error_type not in names:
                found.append(
                    f"error {result.error_type}, expected {' or '.join(names)}"
                )
        if (
            expect.message
            and expect.message.lower() not in result.error_message.lower()
        ):
            found.append(f"the error message lacks {expect.message!r}")
        for path, wanted in expect.output.items():
            got = lookup(result.document, path)
            if got != wanted:
                found.append(f"output {path} is {got!r}, expected {wanted!r}")
        if expect.ground_truth:
            found += truth_mismatches(
                result.document, self.fake.tenant(self._customer())
            )
        return found

    def check_final(self, expect: FinalExpect, last: CommandResult) -> None:
        """The last command against ``expect``, then the journal checks."""
        self.check("expect", expect, last)
        entries = self.fake.journal_since(0, client_id=self.client_id)
        if expect.refreshes is not None:
            got = self.fake.refresh_count(self.client_id)
            if got != expect.refreshes:
                self.failures.append(
                    f"expect.refreshes: {got}, expected {expect.refreshes}"
                )
        limit = self.scenario.stale_token_limit
        stale = [e.seq for e in entries if e.token_state in _STALE]
        if limit is not None and len(stale) > limit:
            self.failures.append(
                f"expect.max_stale_token_requests: {len(stale)} requests carried a "
                f"rotated-away token (journal seq {stale}), at most {limit} allowed"
            )
        if expect.paced:
            self.failures += pacing_failures(entries)

    def _check_secrets(self, where: str, output: bytes) -> None:
        text = output.decode(errors="replace")
        leaked = sorted(name for name, value in self.secrets_named() if value in text)
        if leaked:
            self.failures.append(f"{where}: the output shows the {', '.join(leaked)}")

    def secrets_named(self) -> list[tuple[str, str]]:
        named = [
            ("client secret", app.client_secret) for app in self.state.apps.values()
        ]
        named += [("a token", value) for value in self.secrets]
        return [(name, value) for name, value in named if value]

    def _mask(self, text: str) -> str:
        for _, value in self.secrets_named():
            text = text.replace(value, "***")
        return text


class _Triggers:
    """Fires a command's ``during`` steps as its requests reach the fake.

    The fake journals each exchange from inside its request handler, so hooking
    the journal fires a step after the N-th matching request is answered and
    before the next one is handled: the same spot on every run.
    """

    def __init__(self, replay: _Replay, where: str, step: RunStep) -> None:
        self._replay = replay
        self._where = where
        self._pending = sorted(
            enumerate(step.during), key=lambda item: item[1].after_requests or 0
        )
        self._journal = replay.fake.journal_log
        self._first = self._journal.last_seq
        self._original = self._journal.log
        if self._pending:
            # Journal has no listener API; wrap this one instance's method.
            self._journal.log = self._log  # type: ignore[method-assign]

    def _log(self, *args: Any, **kwargs: Any) -> int:
        seq = self._original(*args, **kwargs)
        while self._pending and self._due(*self._pending[0]):
            index, action = self._pending.pop(0)
            self._replay.act(f"{self._where}.during[{index}]", action)
        return seq

    def _due(self, index: int, action: Any) -> bool:
        entries = self._journal.entries(self._first)
        if action.on_path is not None:
            entries = [entry for entry in entries if entry.path == action.on_path]
        return len(entries) >= (action.after_requests or 0)

    def remove(self) -> None:
        if "log" in vars(self._journal):
            del self._journal.log

    def unfired(self) -> list[str]:
        made = self._journal.last_seq - self._first
        return [
            f"{self._where}.during[{index}]: never fired; the command ended after "
            f"{made} requests"
            for index, _ in self._pending
        ]


async def run_scenario(
    scenario: Scenario, path: Path, connector: Sequence[str] | None = None
) -> ScenarioResult:
    """Replay one scenario in a throwaway directory; never raises for a mismatch."""
    result = ScenarioResult(scenario.name, path, expected=scenario.expect.describe())
    began = time.monotonic()
    logger.info("scenario %s started", scenario.name)
    with tempfile.TemporaryDirectory(prefix="scenario-") as workdir:
        replay = _Replay(scenario, Path(workdir), connector or connector_command())
        try:
            last = await replay.run()
        except Exception as exc:
            # One broken scenario (or a bug in the fake) must not end the whole
            # replay: it is reported with its type and message, and fails.
            replay.failures.append(f"the runner failed: {type(exc).__name__}: {exc}")
            last = None
        if last is not None:
            replay.check_final(scenario.expect, last)
            result.outcome = last.describe()
    result.commands = replay.commands
    result.seconds = time.monotonic() - began
    _judge_known_gap(result, scenario, replay.failures)
    logger.info(
        "scenario %s: %s in %.1f s", scenario.name, result.verdict, result.seconds
    )
    return result


def _judge_known_gap(
    result: ScenarioResult, scenario: Scenario, failures: list[str]
) -> None:
    """A known gap must still show; then its mismatches are the expected ones."""
    if scenario.known_gap is None:
        result.failures = failures
    elif failures:
        result.known_gap = f"{scenario.known_gap} ({failures[0]})"
    else:
        result.failures = [
            f"known_gap: the scenario now passes ({scenario.known_gap!r} is "
            "fixed); remove known_gap from the file"
        ]


async def run_scenarios(
    loaded: Sequence[tuple[Path, Scenario]],
    *,
    jobs: int = 2,
    connector: Sequence[str] | None = None,
) -> list[ScenarioResult]:
    """Replay scenarios, ``jobs`` at a time; results in the order given."""
    gate = asyncio.Semaphore(max(1, jobs))
    command = list(connector) if connector else connector_command()

    async def one(path: Path, scenario: Scenario) -> ScenarioResult:
        async with gate:
            return await run_scenario(scenario, path, command)

    return list(await asyncio.gather(*(one(path, s) for path, s in loaded)))


def replay_paths(
    paths: Sequence[str | Path],
    *,
    jobs: int = 2,
    connector: Sequence[str] | None = None,
) -> list[ScenarioResult]:
    """Load and replay scenario files and directories (the ``replay`` command's core)."""
    loaded = load_scenarios(list(paths))
    return asyncio.run(run_scenarios(loaded, jobs=jobs, connector=connector))


# --- the command ---------------------------------------------------------------


@click.command("replay")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--junit",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the results as JUnit XML to this file.",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=lambda: min(4, os.cpu_count() or 2),
    show_default="the CPU count, at most 4",
    help="Scenarios replayed at the same time.",
)
@click.option(
    "--connector",
    "connector",
    help="The connector's command line (default: central-connector beside this Python).",
)
def replay_command(
    paths: tuple[Path, ...], junit: Path | None, jobs: int, connector: str | None
) -> None:
    """Replay QA scenario files (or every *.yaml in a directory) against the fake.

    Each scenario gets a fresh fake on 127.0.0.1 with TLS and drives the
    connector's command line against it. Exits 1 if any scenario's outcome
    differs from what it expects, 2 if a scenario file is invalid.
    """
    try:
        loaded = load_scenarios(list(paths or [Path("contracts/scenarios")]))
    except ScenarioError as exc:
        raise click.UsageError(str(exc)) from None
    command = shlex.split(connector) if connector else connector_command()

    results = asyncio.run(run_scenarios(loaded, jobs=jobs, connector=command))

    print_table(results)
    if junit is not None:
        junit.write_text(junit_xml(results), encoding="utf-8")
    if not all(result.passed for result in results):
        raise SystemExit(1)
