"""Run one command, then print its wall time and peak RSS as one JSON line.

Usage: ``python -m benchmarks.measure_child --timeout S --log FILE -- CMD ...``

The command is this process's only child, so ``RUSAGE_CHILDREN`` reports its own
peak resident set size. The command's output goes to ``FILE``. On timeout it is
killed and the return code is reported as -9. A SIGTERM to this wrapper kills the
command too, so that a benchmark that runs out of time leaves nothing behind.
"""

from __future__ import annotations

import argparse
import json
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, required=True)
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("command", nargs="+")
    args = parser.parse_args()

    started = time.perf_counter()
    with args.log.open("wb") as sink:
        child = subprocess.Popen(
            args.command, stdin=subprocess.DEVNULL, stdout=sink, stderr=sink
        )

        def end_both(signum: int, frame: FrameType | None) -> None:
            child.kill()
            child.wait()
            sys.exit(128 + signum)

        signal.signal(signal.SIGTERM, end_both)
        try:
            returncode = child.wait(timeout=args.timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
            returncode = -9
    wall_s = time.perf_counter() - started

    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    report = {
        "returncode": returncode,
        "wall_s": wall_s,
        "max_rss_mib": peak_kib / 1024,
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
