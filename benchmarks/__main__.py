"""Run the benchmarks, print one table, write BENCHMARKS.md.

``python -m benchmarks`` runs all of them (``nox -s bench`` does exactly that).
Each benchmark has its own time limit; one that fails or runs out of time gets a
"not run" line with the reason, and the others still run. The exit status is 1 when
a benchmark could not run (and, with ``--strict``, when a figure missed its
requirement), else 0.

A run narrowed with ``--only`` or ``--skip`` prints its table but leaves
BENCHMARKS.md alone unless ``--output`` names a file. Child logs go to a temporary
folder that is removed at the end, or to ``--workdir`` to keep them.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

from benchmarks import (
    pacing,
    refresh,
    suite_cost,
    sync_scale,
    throughput,
    versus_pycentral,
)
from benchmarks.context import REPO_ROOT, Context, Outcome, progress
from benchmarks.report import Figure, Machine, markdown, not_run, table

BENCHMARKS: tuple[ModuleType, ...] = (
    throughput,
    refresh,
    pacing,
    sync_scale,
    versus_pycentral,
    suite_cost,
)
COMMAND = "nox -s bench"
DEFAULT_OUTPUT = REPO_ROOT / "BENCHMARKS.md"


def main() -> int:
    args = _parser().parse_args()
    chosen = [b for b in BENCHMARKS if _wanted(b, args)]
    skipped = suite_cost in chosen and args.no_suite
    machine = Machine.detect()
    started = time.monotonic()

    with _scratch(args.workdir) as scratch:
        ctx = Context(workdir=scratch, nox_python=args.nox_python)
        outcomes = [
            _skipped(b, "--no-suite")
            if skipped and b is suite_cost
            else asyncio.run(_run_one(b, ctx))
            for b in chosen
        ]

    figures = [f for o in outcomes for f in o.figures]
    details = [line for o in outcomes for line in o.details]
    elapsed = time.monotonic() - started
    print(table(figures))

    output = _output(args)
    if output is not None:
        text = markdown(figures, machine, details, COMMAND, elapsed)
        output.write_text(text, encoding="utf-8")
        progress(f"wrote {output} ({elapsed:.0f} s in all)")
    return _status(figures, strict=args.strict)


def _output(args: argparse.Namespace) -> Path | None:
    if args.no_write:
        return None
    if args.output is not None:
        return Path(args.output)
    if args.only or args.skip:
        progress("a partial run leaves BENCHMARKS.md alone (--output FILE writes it)")
        return None
    return DEFAULT_OUTPUT


@contextmanager
def _scratch(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep.resolve()
        return
    with tempfile.TemporaryDirectory(prefix="bench-") as folder:
        yield Path(folder)


def _parser() -> argparse.ArgumentParser:
    keys = ", ".join(f"{b.KEY} {b.__name__.rsplit('.', 1)[1]}" for b in BENCHMARKS)
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--only", action="append", default=[], help=f"run only these ({keys})"
    )
    parser.add_argument(
        "--skip", action="append", default=[], help="skip these (number or name)"
    )
    parser.add_argument(
        "--no-suite",
        action="store_true",
        help="skip timing the default nox run (benchmark 6)",
    )
    parser.add_argument(
        "--nox-python",
        help="the interpreter that has nox (the noxfile passes its own)",
    )
    parser.add_argument(
        "--output", type=Path, help=f"where to write the report ({DEFAULT_OUTPUT.name})"
    )
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--workdir", type=Path, help="keep child logs in this folder")
    parser.add_argument(
        "--strict", action="store_true", help="exit 1 when a figure misses"
    )
    return parser


def _wanted(bench: ModuleType, args: argparse.Namespace) -> bool:
    names = {bench.KEY, bench.__name__.rsplit(".", 1)[1]}
    if args.only and not names & set(args.only):
        return False
    return not names & set(args.skip)


def _skipped(bench: ModuleType, flag: str) -> Outcome:
    cause = f"skipped ({flag})"
    return Outcome([not_run(bench.KEY, bench.TITLE, cause, skipped=True)], [])


async def _run_one(bench: ModuleType, ctx: Context) -> Outcome:
    """One benchmark under its own time limit; failures become a table line."""
    title = f"{bench.KEY}. {bench.TITLE}"
    progress(f"{title}: running (at most {bench.TIME_LIMIT_S:.0f} s)")
    started = time.monotonic()

    try:
        outcome: Outcome = await asyncio.wait_for(bench.run(ctx), bench.TIME_LIMIT_S)
    except TimeoutError:
        cause = f"stopped after its {bench.TIME_LIMIT_S:.0f} s limit"
        return Outcome([not_run(bench.KEY, bench.TITLE, cause)], [])
    except Exception as error:  # one broken benchmark must not hide the others
        traceback.print_exc(file=sys.stderr)
        cause = f"{type(error).__name__}: {error}".splitlines()[0]
        return Outcome([not_run(bench.KEY, bench.TITLE, cause)], [])

    progress(f"{title}: done in {time.monotonic() - started:.1f} s")
    return outcome


def _status(figures: list[Figure], *, strict: bool) -> int:
    broken = any(f.verdict == "not run" for f in figures)
    missed = any(f.met is False for f in figures)
    return 1 if broken or (strict and missed) else 0


if __name__ == "__main__":
    raise SystemExit(main())
