"""pycentral 1.4.3 in its own virtual environment, ``.bench/pycentral-venv``.

pycentral pins exact versions of requests, urllib3, PyYAML and certifi, so it never
shares an environment with the project. The venv is made once with
``python3 -m venv`` and reused while it holds the pinned version.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

from benchmarks.context import progress
from benchmarks.processes import ChildFailed, stop

VERSION = "1.4.3"
SETUP_TIMEOUT_S = 240.0


def venv_python(repo: Path) -> Path:
    return repo / ".bench" / "pycentral-venv" / "bin" / "python"


async def ensure(repo: Path, base_python: str) -> Path:
    """The venv's interpreter, with pycentral==VERSION importable in it."""
    python = venv_python(repo)
    if python.exists() and await _installed_version(python) == VERSION:
        return python

    progress(f"creating {python.parent.parent} with pycentral=={VERSION}")
    venv = python.parent.parent
    shutil.rmtree(venv, ignore_errors=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    await _run([_system_python(base_python), "-m", "venv", str(venv)])
    await _run(
        [str(python), "-m", "pip", "install", "--quiet", f"pycentral=={VERSION}"]
    )

    found = await _installed_version(python)
    if found != VERSION:
        raise ChildFailed(f"{venv} holds pycentral {found!r}, wanted {VERSION}")
    return python


def _system_python(base_python: str) -> str:
    """``python3`` as the brief asks, falling back to the running interpreter."""
    return shutil.which("python3") or base_python


async def _installed_version(python: Path) -> str | None:
    code = "import importlib.metadata as m; print(m.version('pycentral'))"
    try:
        out = await _run([str(python), "-c", code])
    except ChildFailed:
        return None
    return out.strip() or None


async def _run(argv: list[str]) -> str:
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), SETUP_TIMEOUT_S)
    finally:
        await stop(process)

    if process.returncode != 0:
        message = "\n".join(
            line
            for line in err.decode(errors="replace").splitlines()
            if "Location" not in line
        )
        raise ChildFailed(f"{' '.join(argv[:3])} failed: {message[-800:]}")
    return out.decode()
