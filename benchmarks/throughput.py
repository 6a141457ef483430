"""1. The fake's throughput against a bare aiohttp handler, in the same run.

Both servers run in their own child process on loopback over plain http; the load
generator (this process) is the same for both: ``WORKERS`` concurrent loops, each
sending one authorised ``GET /central/v2/sites`` page request at a time for a fixed
window. The fake has its rate limit off (and its reported budgets raised). The bare
handler answers with the very bytes of a page the fake served, encoded once (the
fake caches its encodings as well). The two servers take turns (bare, fake, bare,
fake, ...) so that a slow patch of the machine hits both alike.

On two cores the one-process client can be the bottleneck, which pulls the two rates
together. The server CPU each page costs (from /proc, per server process) does not
depend on that, so it is reported next to the rates.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field

import aiohttp

from benchmarks import load
from benchmarks.context import Context, Outcome, progress
from benchmarks.fakectl import RunningFake, running_fake
from benchmarks.processes import Server, cpu_seconds, server
from benchmarks.report import Figure

KEY = "1"
TITLE = "Fake throughput"
TIME_LIMIT_S = 90.0

WORKERS = 64
ROUNDS = 3
WINDOW_S = 2.5
WARMUP_S = 0.5
SITES = 200
PAGE = 100
REQUIRED_SHARE = 0.60


@dataclass
class Served:
    """One server's load results over all its rounds, and the CPU it spent."""

    load: load.Load = field(default_factory=lambda: load.Load(window_s=0))
    cpu_s: float = 0.0

    @property
    def cpu_ms_per_page(self) -> float:
        return 1000 * self.cpu_s / self.load.ok if self.load.ok else float("nan")


async def run(ctx: Context) -> Outcome:
    folder = ctx.folder("throughput")

    async with running_fake(folder) as fake:
        headers, url = await _authorised_page(fake)
        payload = folder / "sites-page.json"
        payload.write_bytes(await _fetch(url, headers))

        bare_argv = [sys.executable, "-m", "benchmarks.bare_server"]
        async with server(
            [*bare_argv, "--payload", str(payload)], folder / "bare.log"
        ) as bare:
            bare_url = f"{bare.url}/central/v2/sites?offset=0&limit={PAGE}"
            bare_served, fake_served = await _alternate(
                (bare, bare_url, {}), (fake.server, url, headers)
            )

    return _outcome(bare_served, fake_served)


async def _authorised_page(fake: RunningFake) -> tuple[dict[str, str], str]:
    tenant = await fake.control.tenant()
    await fake.control.lift_limits()
    await fake.control.load_inventory(tenant.customer_id, sites=SITES, devices=100)

    headers = {"Authorization": f"Bearer {tenant.credentials['access_token']}"}
    return headers, f"{fake.url}/central/v2/sites?offset=0&limit={PAGE}"


async def _fetch(url: str, headers: dict[str, str]) -> bytes:
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, headers=headers) as response,
    ):
        body = await response.read()
        if response.status != 200:
            raise RuntimeError(f"the fake answered {response.status}: {body[:200]!r}")
        json.loads(body)
        return body


Target = tuple[Server, str, dict[str, str]]


async def _alternate(bare: Target, fake: Target) -> tuple[Served, Served]:
    bare_served, fake_served = Served(), Served()

    for turn in range(1, ROUNDS + 1):
        progress(f"throughput round {turn}/{ROUNDS}: bare handler, then the fake")
        await _drive(bare, bare_served)
        await _drive(fake, fake_served)

    return bare_served, fake_served


async def _drive(target: Target, served: Served) -> None:
    child, url, headers = target
    cpu_before = cpu_seconds(child.process.pid)

    result = await load.drive(
        url, headers=headers, workers=WORKERS, duration_s=WINDOW_S, warmup_s=WARMUP_S
    )

    served.cpu_s += cpu_seconds(child.process.pid) - cpu_before
    served.load = served.load.merge(result)


def _outcome(bare_served: Served, fake_served: Served) -> Outcome:
    bare, fake = bare_served.load, fake_served.load
    share = fake.rate / bare.rate if bare.rate else 0.0
    refused = sum(n for status, n in fake.statuses.items() if status != 200)
    met = share >= REQUIRED_SHARE and not refused and not fake.failures
    cause = ""
    if share < REQUIRED_SHARE:
        cause = (
            f"the fake served {fake.rate:,.0f} pages/s against the bare handler's "
            f"{bare.rate:,.0f}; each fake page cost "
            f"{fake_served.cpu_ms_per_page:.2f} ms of server CPU against "
            f"{bare_served.cpu_ms_per_page:.2f} ms (token check, rate-limit and "
            "journal bookkeeping, page assembly)"
        )
    if refused or fake.failures:
        cause += f"; {refused} non-200 answers and {fake.failures} failed requests"

    p99_fake, p99_bare = fake.percentile_ms(0.99), bare.percentile_ms(0.99)
    cpu_ratio = fake_served.cpu_ms_per_page / bare_served.cpu_ms_per_page
    figures = [
        Figure(
            KEY + "a",
            "Fake throughput (authorised sites pages/s)",
            f"{fake.rate:,.0f} pages/s",
            f"bare aiohttp {bare.rate:,.0f} pages/s",
            f"{share:.0%}",
            f">= {REQUIRED_SHARE:.0%}",
            met,
            cause.lstrip("; "),
        ),
        Figure(
            KEY + "b",
            "Fake p99 latency",
            f"{p99_fake:.1f} ms",
            f"bare aiohttp p99 {p99_bare:.1f} ms",
            f"x{p99_fake / p99_bare:.1f}" if p99_bare else "-",
        ),
        Figure(
            KEY + "c",
            "Fake server CPU per page",
            f"{fake_served.cpu_ms_per_page:.3f} ms",
            f"bare aiohttp {bare_served.cpu_ms_per_page:.3f} ms",
            f"x{cpu_ratio:.1f}",
        ),
    ]
    details = [
        f"- **{KEY}. {TITLE}.** Plain http on 127.0.0.1, each server in its own child "
        f"process; one aiohttp client in the runner with {WORKERS} concurrent loops, "
        f"{ROUNDS} alternating rounds of {WINDOW_S:g} s per server, each after a "
        f"{WARMUP_S:g} s warm-up. Fake: rate limit off, {SITES} sites, "
        f"`GET /central/v2/sites?offset=0&limit={PAGE}` with a valid Bearer token "
        f"({fake.ok:,} answers of {fake.body_bytes:,} bytes). Bare handler: "
        f"`web.Response` with the bytes of that same page ({bare.ok:,} answers). "
        f"p50 fake {fake.percentile_ms(0.5):.1f} ms, bare "
        f"{bare.percentile_ms(0.5):.1f} ms. Server CPU is user+system time of each "
        "server process over its windows (from /proc), divided by its answers; when "
        "the client saturates first, the rates converge and 1c shows the real cost.",
    ]
    return Outcome(figures, details)
