"""The results of a replay: what each command did, and the verdict per scenario.

:class:`CommandResult` is one connector command as the runner saw it (exit code,
output, the ``--json`` document); :class:`ScenarioResult` is a scenario's verdict.
The checks that compare a command's output with the fake's ground truth and
journal live here too, as do the two reports: the rich table and JUnit XML.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from rich.console import Console
from rich.table import Table

from fake_central.journal import JournalEntry
from fake_central.tenant import Tenant

__all__ = [
    "CommandResult",
    "ScenarioResult",
    "junit_xml",
    "lookup",
    "pacing_failures",
    "parse_document",
    "print_table",
    "truth_mismatches",
    "why",
]


@dataclass
class CommandResult:
    """One connector command: what ran, how it ended, what it printed."""

    command: list[str]
    exit_code: int
    stdout: str
    stderr: str
    seconds: float
    document: dict[str, Any] | None = None

    @property
    def error_type(self) -> str | None:
        error = (self.document or {}).get("error")
        return error.get("type") if isinstance(error, dict) else None

    @property
    def error_message(self) -> str:
        error = (self.document or {}).get("error")
        return str(error.get("message", "")) if isinstance(error, dict) else ""

    def describe(self) -> str:
        text = f"exit {self.exit_code}"
        if self.error_type:
            return f"{text} {self.error_type}"
        document = self.document or {}
        counts = [
            f"{key}={document[key]}"
            for key in ("sites", "devices")
            if isinstance(document.get(key), int)
        ]
        return ", ".join([text, *counts])


@dataclass
class ScenarioResult:
    """The verdict on one scenario."""

    name: str
    path: Path
    expected: str
    outcome: str = "not run"
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)
    commands: list[CommandResult] = field(default_factory=list)
    known_gap: str | None = None
    """Set when the scenario shows a known gap, and it still does."""

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def verdict(self) -> str:
        if self.failures:
            return "FAIL"
        return "known gap" if self.known_gap else "pass"

    def transcript(self) -> str:
        """Each command with its exit code and output, for reports."""
        lines: list[str] = []
        for result in self.commands:
            lines.append(f"$ central-connector {' '.join(result.command)}")
            lines.append(f"  exit {result.exit_code} after {result.seconds:.2f} s")
            lines += [f"  | {line}" for line in result.stdout.splitlines()[:40]]
            lines += [f"  ! {line}" for line in result.stderr.splitlines()[-20:]]
        return "\n".join(lines)


# --- checks -----------------------------------------------------------------------


def why(result: CommandResult) -> str:
    if result.error_type:
        return f" ({result.error_type}: {result.error_message[:200]})"
    if result.document is None and result.stderr.strip():
        return f" (stderr: {result.stderr.strip().splitlines()[-1][:200]})"
    return ""


def parse_document(stdout: str) -> dict[str, Any] | None:
    try:
        document = json.loads(stdout)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def lookup(document: dict[str, Any] | None, path: str) -> Any:
    """``a.b.0.c`` into nested dicts and lists; a trailing ``#`` takes a length."""
    length = path.endswith("#")
    value: Any = document
    for part in path.removesuffix("#").split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    if length:
        return len(value) if isinstance(value, list | dict) else None
    return value


def truth_mismatches(document: dict[str, Any] | None, tenant: Tenant) -> list[str]:
    """A sync's ``--json`` counts against the fake's tenant, list by list."""
    if document is None:
        return ["ground truth: the command printed no JSON document"]
    truth = {
        "sites": len(tenant.sites),
        "inventory": len(tenant.devices),
        **{
            kind: len(tenant.monitoring[kind])
            for kind in ("aps", "switches", "gateways")
        },
    }
    found = []
    if document.get("partial"):
        found.append("ground truth: the sync says it is partial")
    if document.get("sites") != truth["sites"]:
        found.append(
            f"ground truth: {document.get('sites')} sites, the fake has {truth['sites']}"
        )
    if document.get("devices") != truth["inventory"]:
        found.append(
            f"ground truth: {document.get('devices')} devices, "
            f"the fake has {truth['inventory']}"
        )
    lists = document.get("lists") or {}
    for name, count in truth.items():
        items = lookup(lists, f"{name}.items")
        if items != count:
            found.append(
                f"ground truth: list {name} has {items} items, the fake {count}"
            )
    return found


def pacing_failures(entries: list[JournalEntry]) -> list[str]:
    """Requests the fake refused because the per-second budget was spent."""
    refused = [
        e.seq
        for e in entries
        if e.status == 429 and e.fault is None and e.detail == "second"
    ]
    if not refused:
        return []
    return [
        f"expect.paced: the fake refused {len(refused)} requests for exceeding the "
        f"per-second budget (journal seq {refused[:10]})"
    ]


# --- reports ----------------------------------------------------------------------


def junit_xml(results: Sequence[ScenarioResult]) -> str:
    """A JUnit XML document: one test case per scenario, its transcript attached."""
    suite = ET.Element(
        "testsuite",
        name="scenarios",
        tests=str(len(results)),
        failures=str(sum(not r.passed for r in results)),
        errors="0",
        time=f"{sum(r.seconds for r in results):.3f}",
    )
    for result in results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname="scenarios",
            name=result.name,
            file=str(result.path),
            time=f"{result.seconds:.3f}",
        )
        if not result.passed:
            failure = ET.SubElement(case, "failure", message=result.failures[0])
            failure.text = "\n".join(result.failures)
        elif result.known_gap:
            ET.SubElement(case, "skipped", message=f"known gap: {result.known_gap}")
        output = ET.SubElement(case, "system-out")
        output.text = f"expected: {result.expected}\noutcome: {result.outcome}\n" + (
            result.transcript()
        )
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


_MARKS = {
    "pass": "[green]pass[/]",
    "FAIL": "[bold red]FAIL[/]",
    "known gap": "[yellow]gap[/]",
}


def print_table(results: Sequence[ScenarioResult]) -> None:
    """The rich table: scenario, expected, outcome, time; failures listed below."""
    table = Table(title="QA scenarios")
    for header in ("Scenario", "Expected", "Outcome"):
        table.add_column(header, overflow="fold")
    table.add_column("Time", justify="right", no_wrap=True)
    table.add_column("", no_wrap=True)
    for result in results:
        mark = _MARKS[result.verdict]
        table.add_row(
            result.name,
            result.expected,
            result.outcome,
            f"{result.seconds:.1f} s",
            mark,
        )
    console = Console(highlight=False)
    console.print(table)
    for result in results:
        for failure in result.failures:
            console.print(f"[red]{result.name}[/]: {failure}", soft_wrap=True)
        if result.known_gap:
            console.print(
                f"[yellow]{result.name}[/]: known gap: {result.known_gap}",
                soft_wrap=True,
            )
    failed = sum(not r.passed for r in results)
    gaps = sum(r.verdict == "known gap" for r in results)
    colour = "green" if not failed else "bold red"
    noted = f" ({gaps} showing a known gap)" if gaps else ""
    # The closing line has the plain "N passed, N failed" shape CI tools read.
    console.print(
        f"scenarios: [{colour}]{len(results) - failed} passed, {failed} failed[/]"
        f"{noted}"
    )
