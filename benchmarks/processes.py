"""Child processes: servers on loopback that announce their URL, and timed commands.

Children run from the repository root, so ``python -m benchmarks.NAME`` finds this
package even where only the project itself is installed. Every server here starts
on 127.0.0.1 with port 0, prints the URL it listens on, and is stopped (SIGTERM,
then SIGKILL after a grace period) when its context ends, whatever happened inside
it. Output goes to a log file so a full pipe can never stall a server, and the
log's tail is quoted when a server fails to come up.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
LOOPBACK_URL = re.compile(rb"(https?://127\.0\.0\.1:\d+)")
STOP_GRACE_S = 5.0


class ChildFailed(RuntimeError):
    """A child process exited early, failed, or did not announce its URL in time."""


@dataclass(frozen=True)
class Server:
    """A running child server: its process, its log file and the URL it announced."""

    process: asyncio.subprocess.Process
    log: Path
    url: str

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])


def console_script(name: str, module: str) -> list[str]:
    """The argv prefix that runs a project console script from this interpreter.

    The script next to ``sys.executable`` wins (inside a nox or project venv), then
    one on PATH, then ``python -c`` calling the module's ``main``.
    """
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return [str(beside)]
    found = shutil.which(name)
    if found:
        return [found]
    return [
        sys.executable,
        "-c",
        f"import sys; from {module} import main; sys.exit(main())",
    ]


def log_tail(log: Path, lines: int = 15) -> str:
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


@asynccontextmanager
async def server(
    argv: Sequence[str],
    log: Path,
    *,
    startup_timeout_s: float = 30.0,
    cwd: Path = REPO_ROOT,
) -> AsyncIterator[Server]:
    """Start ``argv``, wait until it prints a loopback URL, stop it on exit."""
    with log.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            cwd=cwd,
        )
    try:
        url = await _announced_url(process, log, startup_timeout_s)
        yield Server(process, log, url)
    finally:
        await stop(process)


async def _announced_url(
    process: asyncio.subprocess.Process, log: Path, timeout_s: float
) -> str:
    deadline = time.monotonic() + timeout_s

    while time.monotonic() < deadline:
        match = LOOPBACK_URL.search(await asyncio.to_thread(log.read_bytes))
        if match:
            return match.group(1).decode()
        if process.returncode is not None:
            raise ChildFailed(
                f"{log.stem} exited with {process.returncode} before it announced "
                f"its URL; its log ends with:\n{log_tail(log)}"
            )
        await asyncio.sleep(0.05)

    raise ChildFailed(
        f"{log.stem} announced no loopback URL within {timeout_s:.0f} s; its log "
        f"ends with:\n{log_tail(log)}"
    )


async def stop(
    process: asyncio.subprocess.Process, first: signal.Signals = signal.SIGTERM
) -> None:
    """Signal one child by its own handle (SIGTERM by default); kill it if it lingers."""
    if process.returncode is not None:
        return
    process.send_signal(first)
    try:
        await asyncio.wait_for(process.wait(), STOP_GRACE_S)
    except TimeoutError:
        process.kill()
        await process.wait()


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a live process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Finished:
    """A command that ran to its end under :func:`run_measured`."""

    returncode: int
    wall_s: float
    max_rss_mib: float
    log: Path


async def run_measured(
    argv: Sequence[str], log: Path, *, timeout_s: float, cwd: Path = REPO_ROOT
) -> Finished:
    """Run ``argv`` through the ``measure_child`` wrapper and report its cost.

    The wrapper's only child is ``argv``, so its ``RUSAGE_CHILDREN`` peak RSS is that
    command's own, untouched by the servers this process started and reaped.
    """
    wrapper = [
        sys.executable,
        "-m",
        "benchmarks.measure_child",
        "--timeout",
        str(timeout_s),
        "--log",
        str(log),
        "--",
        *argv,
    ]
    process = await asyncio.create_subprocess_exec(
        *wrapper,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout_s + 15)
    finally:
        await stop(process)

    if process.returncode != 0:
        raise ChildFailed(f"measure_child failed: {err.decode(errors='replace')}")
    report = json.loads(out.decode().strip().splitlines()[-1])
    return Finished(report["returncode"], report["wall_s"], report["max_rss_mib"], log)


async def run_json(
    argv: Sequence[str], log: Path, *, timeout_s: float, cwd: Path = REPO_ROOT
) -> dict[str, Any]:
    """Run a script that ends by printing one JSON line; return that line, parsed.

    Its stderr goes to ``log``; a non-zero exit or a timeout raises ``ChildFailed``.
    """
    with log.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=sink,
            cwd=cwd,
        )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), timeout_s)
    except TimeoutError:
        raise ChildFailed(f"{Path(argv[1]).name} ran past {timeout_s:.0f} s") from None
    finally:
        await stop(process)

    lines = out.decode(errors="replace").strip().splitlines()
    if process.returncode != 0 or not lines:
        raise ChildFailed(
            f"{' '.join(argv[:2])} exited {process.returncode}; its log ends with:\n"
            f"{log_tail(log)}"
        )
    answer: dict[str, Any] = json.loads(lines[-1])
    return answer
