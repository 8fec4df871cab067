"""Closed-loop HTTP load: `clients` concurrent senders in `processes` child processes.

Each child runs `clients / processes` copies of an async `loop(offset, stride,
until, stats, *args)` (a module-level function, so a spawned child can import
it) that sends requests until `until` and counts into `stats`: `ok` answers,
`errors` by status, `ms` the latency of each request, and in `created` whatever
the loop wants to keep of each answer (e.g. the id it got). `run` merges what
the children counted.
"""

import asyncio
import multiprocessing as mp
import time
from array import array
from typing import NamedTuple

from bench import harness


class Load(NamedTuple):
    ok: int  # answers 200 or 201
    errors: dict  # {status or exception name: count}
    ms: array  # the latency of every request
    created: list  # what the loops kept of their answers


def _child(loop, args, index, processes, clients, until, report):
    harness.raise_nofile()
    stats = {"ok": 0, "errors": {}, "ms": array("d"), "created": []}

    async def main():
        stride = clients * processes
        await asyncio.gather(
            *(loop(index + c * processes, stride, until, stats, *args) for c in range(clients))
        )

    try:
        asyncio.run(main())
        report.put({**stats, "ms": stats["ms"].tobytes()})
    except BaseException as error:
        report.put({"error": repr(error)})


def run(loop, args, *, clients, processes, seconds):
    """Run the load for `seconds`; returns a `Load`."""
    ctx = mp.get_context("spawn")
    report, until = ctx.Queue(), time.time() + seconds
    per = [clients // processes + (1 if i < clients % processes else 0) for i in range(processes)]
    procs = [
        ctx.Process(
            target=_child, args=(loop, args, i, processes, per[i], until, report), daemon=True
        )
        for i in range(processes)
    ]
    for proc in procs:
        proc.start()
    parts = [report.get(timeout=seconds + 60) for _ in procs]
    for proc in procs:
        proc.join(10)
    failures = [p["error"] for p in parts if "error" in p]
    if failures:
        raise RuntimeError(f"HTTP load generator failed: {failures}")
    ms, errors = array("d"), {}
    for part in parts:
        ms.frombytes(part["ms"])
        for kind, count in part["errors"].items():
            errors[kind] = errors.get(kind, 0) + count
    created = [kept for part in parts for kept in part["created"]]
    return Load(sum(p["ok"] for p in parts), errors, ms, created)


def count(stats, status, started):
    """Record one answer: its latency, and a success (200, 201) or an error by status."""
    stats["ms"].append((time.monotonic() - started) * 1000)
    if status in (200, 201):
        stats["ok"] += 1
    else:
        stats["errors"][str(status)] = stats["errors"].get(str(status), 0) + 1
