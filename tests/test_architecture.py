"""The import rules of ARCHITECTURE.md, enforced.

``connector`` and ``fake_central`` meet only over HTTP: neither package may import
the other, not even lazily inside a function.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

FORBIDDEN = {
    "connector": "fake_central",
    "fake_central": "connector",
}


def _imported_roots(source: Path) -> set[str]:
    tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize(("package", "forbidden"), sorted(FORBIDDEN.items()))
def test_package_never_imports_its_counterpart(package: str, forbidden: str) -> None:
    modules = sorted((REPO_ROOT / package).rglob("*.py"))

    offenders = [
        str(module.relative_to(REPO_ROOT))
        for module in modules
        if forbidden in _imported_roots(module)
    ]

    assert modules, f"no modules found under {package}/"
    assert offenders == [], f"{package}/ must not import {forbidden}: {offenders}"


def test_the_import_scanner_sees_lazy_imports(tmp_path: Path) -> None:
    module = tmp_path / "lazy.py"
    module.write_text("def f():\n    from fake_central.app import make_app\n")

    assert "fake_central" in _imported_roots(module)


def test_tools_drive_both_packages_only_through_their_command_lines() -> None:
    tools = sorted((REPO_ROOT / "tools").glob("*.py"))

    offenders = [
        str(tool.relative_to(REPO_ROOT))
        for tool in tools
        if _imported_roots(tool) & set(FORBIDDEN)
    ]

    assert offenders == []


def test_the_connector_and_the_fake_know_the_same_clusters() -> None:
    # Each package keeps its own table (they may not import each other); this
    # keeps the two copies from drifting apart.
    from connector._urls import CLASSIC_CLUSTERS
    from fake_central import CLUSTERS

    assert dict(CLUSTERS) == CLASSIC_CLUSTERS
