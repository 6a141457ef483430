"""Fixtures for the scenario loader and replay tests."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture
def scenario_file(tmp_path: Path) -> Callable[[str], Path]:
    """Write a scenario file from dedented YAML text and return its path."""

    def write(text: str, name: str = "scenario.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="session")
def shipped_scenarios(repo_root: Path) -> list[Path]:
    """Every scenario file QA replays."""
    return sorted((repo_root / "contracts" / "scenarios").glob("*.yaml"))


STUB_CONNECTOR = '''\
"""A stand-in for central-connector: behaves as its first argument says."""
import json
import sys

behaviour, args = sys.argv[1], sys.argv[2:]
credentials = json.load(open(args[args.index("--credentials") + 1]))
if behaviour == "leak":
    print("debug: secret is " + credentials["client_secret"], file=sys.stderr)
    print(json.dumps({"connected": True}))
elif behaviour == "denied":
    error = {"type": "PermissionDenied", "message": "403 from /central/v2/sites"}
    print(json.dumps({"error": error}))
    sys.exit(3)
else:
    print(json.dumps({"connected": True, "command": args[-1]}))
'''


@pytest.fixture
def stub_connector(tmp_path: Path) -> Callable[[str], list[str]]:
    """The command line of a stub connector that behaves as asked."""
    import sys

    script = tmp_path / "stub_connector.py"
    script.write_text(STUB_CONNECTOR, encoding="utf-8")
    return lambda behaviour: [sys.executable, str(script), behaviour]
