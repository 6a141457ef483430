"""The main job on the embedded default: the fake gateway plus the connector.

Usage: ``python tools/demo.py [--workdir DIR] [--keep]``

It starts ``fake-central serve --tls`` on a free loopback port in a scratch folder,
waits until the fake's health check answers over TLS (trusting the throwaway CA the
fake wrote), then drives ``central-connector`` exactly as a user would:

1. ``test``: the pasted credentials reach Central;
2. ``sync``: every site and device lands in ``demo.db``;
3. ``map`` two sites to two customers, then ``sites`` (the mapping panel) and one
   ``customer`` view;
4. ``keep-alive``: the daily token upkeep, which rotates the freshly pasted pair
   (its age is unknown) and then has nothing to do for twelve days.

Finally it stops the fake. It exits non-zero as soon as a step fails. It imports
neither package: both are driven through their command lines, in subprocesses.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CUSTOMERS = ("Harbour Dental", "Northwind Logistics")
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
STEP_TIMEOUT_S = 300.0


class DemoFailed(Exception):
    """A step of the demo did not succeed."""


def main() -> int:
    args = _parser().parse_args()
    try:
        if args.workdir is not None:
            args.workdir.mkdir(parents=True, exist_ok=True)
            run_demo(args.workdir)
        elif args.keep:
            run_demo(Path(tempfile.mkdtemp(prefix="central-demo-")))
        else:
            with tempfile.TemporaryDirectory(prefix="central-demo-") as scratch:
                run_demo(Path(scratch))
    except DemoFailed as exc:
        sys.stderr.write(f"\ndemo failed: {exc}\n")
        return 1
    _say("\ndemo finished: every step succeeded")
    return 0


def run_demo(workdir: Path) -> None:
    """Start the fake in ``workdir``, run every connector step, stop the fake."""
    port = _free_port()
    ca_file = workdir / "ca.pem"
    credentials = workdir / "credentials.json"
    _banner(f"starting the fake gateway on 127.0.0.1:{port} (scratch: {workdir})")

    with _fake_gateway(port, ca_file, credentials, workdir):
        connector = [
            _tool("central-connector"),
            "--credentials",
            str(credentials),
            "--db",
            str(workdir / "demo.db"),
            "--connect-to",
            f"127.0.0.1:{port}",
            "--ca-file",
            str(ca_file),
        ]
        _step("test the credentials", [*connector, "test"])
        _step("sync every site and device", [*connector, "sync"])

        listed = _step("look up the sites", [*connector, "--json", "sites"], show=False)
        sites = json.loads(listed)
        chosen = _two_busiest(sites["sites"])
        for site, customer in zip(chosen, CUSTOMERS, strict=True):
            _step(
                f"map {site['name']} to {customer}",
                [*connector, "map", str(site["site_id"]), customer],
            )
        _step("the mapping panel", [*connector, "sites"])
        _step(f"what {CUSTOMERS[0]} sees", [*connector, "customer", CUSTOMERS[0]])
        _step("the daily token keep-alive", [*connector, "keep-alive"])


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, help="keep every file in this folder")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    return parser


# --- the fake gateway ----------------------------------------------------------


@contextmanager
def _fake_gateway(
    port: int, ca_file: Path, credentials: Path, workdir: Path
) -> Iterator[None]:
    """Run ``fake-central serve --tls`` until the block ends, then stop it cleanly."""
    command = [
        _tool("fake-central"),
        "serve",
        "--tls",
        "--port",
        str(port),
        "--ca-out",
        str(ca_file),
        "--credentials-out",
        str(credentials),
    ]
    log = workdir / "fake-central.log"
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603  # our own console script, no shell
            command, stdout=output, stderr=subprocess.STDOUT, cwd=workdir
        )
        try:
            _wait_until_healthy(process, port, ca_file, credentials, log)
            yield
        finally:
            _stop(process)


def _wait_until_healthy(
    process: subprocess.Popen[bytes],
    port: int,
    ca_file: Path,
    credentials: Path,
    log: Path,
) -> None:
    url = f"https://127.0.0.1:{port}/_fake/health"
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DemoFailed(
                f"fake-central exited with {process.returncode} at start:\n{_tail(log)}"
            )
        if ca_file.exists() and credentials.exists() and _answers(url, ca_file):
            _say(f"fake gateway healthy at {url}")
            return
        time.sleep(0.1)
    raise DemoFailed(
        f"fake-central did not answer {url} within {START_TIMEOUT_S:.0f} s"
    )


def _answers(url: str, ca_file: Path) -> bool:
    try:
        context = ssl.create_default_context(cafile=str(ca_file))
        # S310: the URL is the https health check built above, not user input.
        opened = urllib.request.urlopen(url, context=context, timeout=2)  # noqa: S310
        with opened as response:
            return bool(json.load(response).get("status") == "ok")
    except (OSError, ssl.SSLError, ValueError):
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    _say("fake gateway stopped")


# --- steps ------------------------------------------------------------------------


def _step(title: str, command: list[str], *, show: bool = True) -> str:
    """Run one connector command, show its output, fail the demo if it fails."""
    _banner(title)
    _say("$ " + " ".join(_shown(part) for part in command))
    try:
        completed = subprocess.run(  # noqa: S603  # our own console script, no shell
            command, capture_output=True, text=True, timeout=STEP_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise DemoFailed(f"{title}: no answer within {STEP_TIMEOUT_S:.0f} s") from exc

    if show or completed.returncode != 0:
        sys.stdout.write(completed.stdout)
    sys.stderr.write(completed.stderr)
    if completed.returncode != 0:
        raise DemoFailed(f"{title}: exit code {completed.returncode}")
    return completed.stdout


def _two_busiest(sites: list[dict[str, object]]) -> list[dict[str, object]]:
    ranked = sorted(
        sites, key=lambda site: (-int(str(site["devices"])), str(site["name"]))
    )
    if len(ranked) < len(CUSTOMERS):
        raise DemoFailed(f"the sync found {len(ranked)} sites; the demo maps two")
    return ranked[: len(CUSTOMERS)]


# --- helpers ----------------------------------------------------------------------


def _tool(name: str) -> str:
    """The console script ``name``: next to this interpreter first, then on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise DemoFailed(f"{name} is not installed; run `pip install -e .` first")
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _shown(part: str) -> str:
    return f"'{part}'" if " " in part else part


def _banner(text: str) -> None:
    _say(f"\n== {text}")


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _tail(log: Path, lines: int = 20) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


if __name__ == "__main__":
    sys.exit(main())
