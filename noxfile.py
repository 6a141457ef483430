"""Developer and CI sessions.

Every session builds its virtualenv from the interpreter that runs nox (Python
3.11 or newer), so a fresh machine needs nothing but ``pip install nox``.

``nox`` with no arguments runs what CI runs: lint, typecheck, tests, the contract
checks and the QA scenarios. ``nox -s demo`` runs the main job on the embedded
default (the fake gateway plus the connector); ``nox -s bench`` measures.
"""

from __future__ import annotations

import sys

import nox

nox.options.sessions = ["lint", "typecheck", "tests", "contracts", "scenarios"]
nox.options.default_venv_backend = "virtualenv"
nox.options.reuse_existing_virtualenvs = True

SOURCES = ["connector", "fake_central", "tests", "tools", "noxfile.py"]


def _install(session: nox.Session, extras: str = "test") -> None:
    session.install("-e", f".[{extras}]")


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff lint and format check."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", *SOURCES, *_optional_dirs())
    session.run("ruff", "format", "--check", *SOURCES, *_optional_dirs())


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on both packages."""
    _install(session, "dev")
    session.run("mypy")


@nox.session
def tests(session: nox.Session) -> None:
    """The unit and integration suite (no long property profiles)."""
    _install(session)
    session.run(
        "pytest", "-m", "not slow", "--ignore=tests/contracts", *session.posargs
    )


@nox.session
def contracts(session: nox.Session) -> None:
    """Contract checks: OpenAPI validity, provider, consumer and cassettes."""
    _install(session)
    session.run("pytest", "tests/contracts", "--record-mode=none", *session.posargs)


@nox.session
def record(session: nox.Session) -> None:
    """Re-record the contract cassettes: against the fake, or Central with --live.

    ``nox -s record`` rewrites tests/contracts/cassettes/ from a fake on loopback;
    ``nox -s record -- --live`` rewrites tests/contracts/cassettes/live/ against the
    Central named by CENTRAL_GATEWAY_URL, CENTRAL_CLIENT_ID, CENTRAL_CLIENT_SECRET,
    CENTRAL_ACCESS_TOKEN and CENTRAL_REFRESH_TOKEN. The cassette checks then run on
    what was just written.
    """
    _install(session)
    session.run(
        "pytest",
        "tests/contracts/test_recorded_traffic.py",
        "--record-mode=rewrite",
        *session.posargs,
    )
    session.run(
        "pytest", "tests/contracts/test_cassette_files.py", "--record-mode=none"
    )


@nox.session
def scenarios(session: nox.Session) -> None:
    """Replay every QA scenario in contracts/scenarios against the fake."""
    _install(session)
    session.run("fake-central", "replay", "contracts/scenarios", *session.posargs)


def _optional_dirs() -> list[str]:
    from pathlib import Path

    return [name for name in ("benchmarks", "qa") if Path(name).is_dir()]


@nox.session
def demo(session: nox.Session) -> None:
    """The main job on the embedded default: fake gateway, then test, sync, show."""
    session.install("-e", ".")
    session.run("python", "tools/demo.py", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Run every benchmark; print one table and write BENCHMARKS.md.

    Options after ``--``: ``--no-suite``, ``--only N``, ``--skip N``,
    ``--workdir DIR``, ``--strict`` (exit 1 when a figure misses).
    """
    session.install("-e", ".")
    session.run(
        "python", "-m", "benchmarks", f"--nox-python={sys.executable}", *session.posargs
    )
