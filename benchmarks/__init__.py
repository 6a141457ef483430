"""Benchmarks of the connector and the fake gateway, run by ``nox -s bench``.

Every figure is a ratio or a count taken in one run against a reference measured in
that same run (a bare aiohttp handler, the 7/s budget, pycentral 1.4.3 ...), so that
it holds on a noisy machine. Each benchmark bounds its own time, starts its servers
in child processes on loopback only, and stops them before it returns.

``python -m benchmarks`` runs them all, prints one table and writes it, with the
machine it ran on, to ``BENCHMARKS.md``. ``python -m benchmarks --help`` lists the
options (one benchmark only, skip the test-suite timing, ...).

The modules:

- ``throughput``: the fake's sites pages per second against a bare aiohttp handler.
- ``refresh``: 1,000 concurrent GETs meeting an expired token.
- ``pacing``: the connector's sustained rate against the fake's 7/s limit.
- ``sync_scale``: ``central-connector sync`` over 2,000 sites and 100,000 devices.
- ``versus_pycentral``: the connector against pycentral 1.4.3 reading the same data.
- ``suite_cost``: the wall time of the default ``nox`` run.

Helpers: ``context`` (what a benchmark gets and returns), ``report`` (figures,
machine, table, BENCHMARKS.md), ``processes`` (child servers and timed commands),
``fakectl`` (the fake in a child process and its control API), ``connect`` (the
connector pointed at it), ``load`` (the HTTP load generator), ``pycentral_env``
(pycentral's own virtual environment under ``.bench/``).

Scripts run in child processes: ``bare_server`` (the reference server),
``measure_child`` (wall time and peak RSS of one command), ``connector_read`` and
``pycentral_read`` (the last one under pycentral's own virtual environment, so it
imports only the standard library and pycentral).
"""
