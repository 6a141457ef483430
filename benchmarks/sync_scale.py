"""4. Sync at scale with the rate limit on: 2,000 sites and 100,000 devices.

The fake (TLS, child process, 7/s limit on, clock running) holds one tenant of that
size. ``central-connector sync`` runs as a user would run it, in its own process
under the ``measure_child`` wrapper, which reports its wall time and peak RSS.

- Requests: the data GETs in the fake's journal against the minimum number of pages,
  ``ceil(sites/1000) + ceil(devices/1000)`` plus each monitoring list's pages (one
  at least, even for an empty list).
- Wall time: the command's, start to exit (interpreter start-up included), against
  what the 7/s budget allows for the minimum pages, ``pages / 7`` seconds.
- Peak memory: the command's maximum resident set size.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from benchmarks.context import Context, Outcome, progress
from benchmarks.fakectl import data_requests, running_fake
from benchmarks.processes import Finished, console_script, log_tail, run_measured
from benchmarks.report import Figure

KEY = "4"
TITLE = "Sync at scale, rate limit on"
TIME_LIMIT_S = 150.0

SITES = 2_000
DEVICES = 100_000
PAGE = 1_000
SYNC_TIMEOUT_S = 110.0
WALL_SLACK = 0.10
MEMORY_LIMIT_MB = 300.0


async def run(ctx: Context) -> Outcome:
    folder = ctx.folder("sync-scale")

    async with running_fake(folder, tls=True) as fake:
        tenant = await fake.control.tenant()
        config = await fake.control.configure(rate_limit_enabled=True)
        await fake.control.clock(freeze=False)
        progress(f"sync at scale: loading {SITES:,} sites and {DEVICES:,} devices")
        summary = await fake.control.load_inventory(
            tenant.customer_id, sites=SITES, devices=DEVICES, seed=4
        )
        credentials = tenant.write(folder / "credentials.json")
        since = await fake.control.last_seq()
        if fake.ca_file is None:
            raise RuntimeError("the fake was started without TLS")

        argv = [
            *console_script("central-connector", "connector.cli"),
            "--credentials",
            str(credentials),
            "--db",
            str(folder / "connector.db"),
            "--connect-to",
            f"127.0.0.1:{fake.port}",
            "--ca-file",
            str(fake.ca_file),
            "--json",
            "sync",
        ]
        progress("sync at scale: central-connector sync (real time, 7/s)")
        finished = await run_measured(
            argv, folder / "sync.log", timeout_s=SYNC_TIMEOUT_S
        )
        entries = [e for e in await fake.control.journal(since) if e["seq"] > since]

    limit = int(config["per_second_limit"])
    return _outcome(finished, summary, data_requests(entries), limit)


def minimum_pages(summary: dict[str, Any]) -> dict[str, int]:
    """Pages each list needs at 1,000 items a page (an empty list needs one)."""
    counts = {"sites": summary["sites"], "inventory": summary["devices"]}
    counts.update(summary["monitored"])
    return {name: max(1, math.ceil(n / PAGE)) for name, n in counts.items()}


@dataclass(frozen=True)
class Timing:
    """Where the sync's wall time went."""

    wall_s: float
    reading_s: float  # first to last data request in the fake's journal
    in_process_s: float | None  # the run's started_at..finished_at (whole seconds)
    refused: int  # 429s in the journal

    def breakdown(self) -> str:
        parts = [f"reading (first to last request) {self.reading_s:.1f} s"]
        if self.in_process_s is not None:
            outside = self.wall_s - self.in_process_s
            parts.append(f"sync run {self.in_process_s:.0f} s (stamped to the second)")
            parts.append(f"start-up and exit about {outside:.0f} s")
        parts.append(f"{self.refused} x 429 (each holds every request >= 1 s)")
        return ", ".join(parts)


def _timing(finished: Finished, requests: list[dict[str, Any]]) -> Timing:
    times = [datetime.fromisoformat(e["time"]).timestamp() for e in requests]
    reading_s = max(times) - min(times) if times else 0.0
    refused = sum(1 for e in requests if e["status"] == 429)
    return Timing(finished.wall_s, reading_s, _run_seconds(finished), refused)


def _run_seconds(finished: Finished) -> float | None:
    """The sync run's own duration, from the CLI's JSON document (if it printed one)."""
    text = finished.log.read_text(errors="replace")
    try:
        document = json.loads(text[text.index("{") : text.rindex("}") + 1])
        started = datetime.fromisoformat(document["started_at"])
        ended = datetime.fromisoformat(document["finished_at"])
    except (ValueError, KeyError, TypeError):
        return None
    return (ended - started).total_seconds()


def _outcome(
    finished: Finished,
    summary: dict[str, Any],
    requests: list[dict[str, Any]],
    limit: int,
) -> Outcome:
    pages = minimum_pages(summary)
    minimum = sum(pages.values())
    budget_s = minimum / limit
    timing = _timing(finished, requests)
    memory_mb = finished.max_rss_mib * 1024 * 1024 / 1e6

    failed = ""
    if finished.returncode != 0:
        failed = (
            f"`central-connector sync` exited {finished.returncode}: "
            f"{log_tail(finished.log, 3)}"
        )

    figures = [
        Figure(
            KEY + "a",
            "Sync at scale: requests",
            f"{len(requests)} requests ({timing.refused} x 429)",
            f"minimum {minimum} pages",
            f"x{len(requests) / minimum:.2f}",
            cause=failed,
        ),
        _wall_figure(timing, budget_s, limit, failed),
        _memory_figure(memory_mb, failed),
    ]
    lists = ", ".join(f"{name} {n}" for name, n in pages.items())
    details = [
        f"- **{KEY}. {TITLE}.** Fake over TLS in a child process, limit {limit}/s on, "
        f"clock running; tenant of {summary['sites']:,} sites and "
        f"{summary['devices']:,} devices (monitored: "
        f"{', '.join(f'{k} {v:,}' for k, v in summary['monitored'].items())}). "
        "`central-connector --connect-to ... --ca-file ... --json sync` in its own "
        f"process (exit {finished.returncode}). Minimum pages by list: {lists}. "
        "Requests are the data GETs in the fake's journal during the sync. Wall "
        "time and peak RSS come from a wrapper process whose only child is the "
        f"command (`ru_maxrss` of `RUSAGE_CHILDREN`); budget = {minimum} pages / "
        f"{limit} per s = {budget_s:.1f} s. Wall {timing.wall_s:.1f} s: "
        f"{timing.breakdown()}.",
    ]
    return Outcome(figures, details)


def _wall_figure(timing: Timing, budget_s: float, limit: int, failed: str) -> Figure:
    ratio = timing.wall_s / budget_s
    met = ratio <= 1 + WALL_SLACK and not failed
    cause = failed
    if ratio > 1 + WALL_SLACK:
        cause = (
            f"{timing.wall_s:.1f} s is {ratio - 1:.0%} over the {budget_s:.1f} s the "
            f"{limit}/s budget allows; {timing.breakdown()}"
        )
    return Figure(
        KEY + "b",
        "Sync at scale: wall time",
        f"{timing.wall_s:.1f} s",
        f"{limit}/s budget {budget_s:.1f} s",
        f"{ratio - 1:+.1%}",
        f"<= +{WALL_SLACK:.0%}",
        met,
        cause,
    )


def _memory_figure(memory_mb: float, failed: str) -> Figure:
    met = memory_mb < MEMORY_LIMIT_MB and not failed
    cause = failed
    if memory_mb >= MEMORY_LIMIT_MB:
        cause = f"the sync process peaked at {memory_mb:.0f} MB"
    return Figure(
        KEY + "c",
        "Sync at scale: peak memory (RSS)",
        f"{memory_mb:.0f} MB",
        f"limit {MEMORY_LIMIT_MB:.0f} MB",
        f"{memory_mb / MEMORY_LIMIT_MB:.0%} of limit",
        f"< {MEMORY_LIMIT_MB:.0f} MB",
        met,
        cause,
    )
