"""What every benchmark receives, and what it hands back to the runner."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.report import Figure

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Context:
    """Where a benchmark may write, and the interpreters it may start."""

    workdir: Path
    repo: Path = REPO_ROOT
    python: str = sys.executable
    nox_python: str | None = None
    started: float = field(default_factory=time.monotonic)

    def folder(self, name: str) -> Path:
        """A fresh scratch folder for one benchmark."""
        path = self.workdir / name
        path.mkdir(parents=True, exist_ok=True)
        return path


@dataclass
class Outcome:
    """A benchmark's lines in the table and its paragraph of method notes."""

    figures: list[Figure]
    details: list[str]


def progress(message: str) -> None:
    """A progress line on stderr, so stdout keeps only the table."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)
