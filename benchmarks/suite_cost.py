"""6. The cost of the default test run: ``nox -R`` once its environments exist.

If a default session has no environment under ``.nox/`` yet, ``nox --install-only``
makes them first (not timed). Then ``nox -R`` (reuse the environments, install
nothing) runs the default sessions and is timed, set against CI's 90-minute budget
for one run. ``bench`` is not a default session, so this does not recurse. Skip it
with ``--no-suite``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

from benchmarks.context import Context, Outcome, progress
from benchmarks.processes import stop
from benchmarks.report import Figure, not_run

KEY = "6"
TITLE = "Test-suite cost"
TIME_LIMIT_S = 560.0

INSTALL_TIMEOUT_S = 180.0
RUN_TIMEOUT_S = 300.0
CI_BUDGET_S = 5400.0
SESSION_LINE = re.compile(r"^nox > \* (\S+): (\w+)(.*)$")


async def run(ctx: Context) -> Outcome:
    nox = _nox_command(ctx)
    if nox is None:
        cause = "no nox found (pass --nox-python, or put nox on PATH)"
        return Outcome([not_run(KEY, TITLE, cause)], [])
    folder = ctx.folder("suite")

    missing = await _sessions_without_env(nox, ctx.repo, folder)
    if missing:
        progress(f"test-suite cost: nox --install-only for {', '.join(missing)}")
        log = folder / "install.log"
        await _nox(nox, ["--install-only"], ctx.repo, log, INSTALL_TIMEOUT_S)

    progress("test-suite cost: nox -R (timed)")
    started = time.perf_counter()
    code = await _nox(nox, ["-R"], ctx.repo, folder / "run.log", RUN_TIMEOUT_S)
    wall_s = time.perf_counter() - started

    sessions = _session_lines((folder / "run.log").read_text(errors="replace"))
    return _outcome(wall_s, code, sessions, missing)


def _nox_command(ctx: Context) -> list[str] | None:
    if ctx.nox_python:
        return [ctx.nox_python, "-m", "nox"]
    found = shutil.which("nox")
    return [found] if found else None


async def _nox(
    nox: list[str], args: list[str], repo: Path, log: Path, timeout_s: float
) -> int:
    """Run nox in the repository with the caller's virtualenv taken off PATH."""
    with log.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            *nox,
            *args,
            cwd=repo,
            env=_outside_this_venv(),
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        return await asyncio.wait_for(process.wait(), timeout_s)
    finally:
        # SIGINT: nox then stops the command its session is running.
        await stop(process, first=signal.SIGINT)


async def _sessions_without_env(nox: list[str], repo: Path, folder: Path) -> list[str]:
    """The default sessions whose environment under .nox/ does not exist yet."""
    log = folder / "list.json"
    code = await _nox(nox, ["--list", "--json"], repo, log, 60.0)
    if code != 0:
        return ["(nox --list failed)"]
    text = log.read_text(errors="replace")
    listing = json.loads(text[text.index("[") :])
    names = [str(entry["name"]) for entry in listing]
    return [n for n in names if not (repo / ".nox" / n / "bin" / "python").exists()]


def _outside_this_venv() -> dict[str, str]:
    env = dict(os.environ)
    venv = env.pop("VIRTUAL_ENV", None)
    if venv:
        parts = env.get("PATH", "").split(os.pathsep)
        env["PATH"] = os.pathsep.join(p for p in parts if not p.startswith(venv))
    return env


def _session_lines(log: str) -> list[str]:
    """nox's closing summary, one "name: result, took T" per session."""
    found = (SESSION_LINE.match(line) for line in log.splitlines())
    return [m.group(0).removeprefix("nox > * ").rstrip(".") for m in found if m]


def _outcome(
    wall_s: float, code: int, sessions: list[str], installed: list[str]
) -> Outcome:
    failed = [line.split(":")[0] for line in sessions if ": failed" in line]
    cause = ""
    if code != 0:
        cause = (
            f"`nox -R` exited {code}"
            + (f"; failed sessions: {', '.join(failed)}" if failed else "")
            + "; the time covers a failing run (see the nox output)"
        )

    figure = Figure(
        KEY,
        TITLE + " (`nox -R`, default sessions)",
        f"{wall_s:.0f} s",
        f"CI budget {CI_BUDGET_S:.0f} s",
        f"{wall_s / CI_BUDGET_S:.1%}",
        cause=cause,
    )
    listing = "Sessions: " + "; ".join(sessions) if sessions else "No nox summary"
    prepared = (
        f"`nox --install-only` first (untimed) made {', '.join(installed)}"
        if installed
        else "Every default environment already existed"
    )
    details = [
        f"- **{KEY}. {TITLE}.** {prepared}; then `nox -R` timed from start to exit "
        f"(exit status {code}). {listing}.",
    ]
    return Outcome([figure], details)
