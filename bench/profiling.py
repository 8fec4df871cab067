"""py-spy against a running gunicorn worker: a flame graph and a top-functions summary.

`maybe_record(True, pid, name)` runs `py-spy record` on `pid` for the duration of
the `with` block and writes .run/bench/profiles/profile-<name>.svg (flame graph)
and profile-<name>.txt beside it (collapsed stacks, summarised by `top_frames`
into the result JSON). Both are untracked: the result keeps the summary.
"""

import contextlib
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from bench.harness import LOGS, ROOT, log

PROFILES = LOGS / "profiles"


class Recording:
    def __init__(self, pid, name):
        self.pid, self.name = pid, name
        PROFILES.mkdir(parents=True, exist_ok=True)
        self.svg = PROFILES / f"profile-{name}.svg"
        self.raw = PROFILES / f"profile-{name}.txt"  # large; summarised into the result JSON
        self.info = None
        py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        self.procs = [
            subprocess.Popen(
                [
                    py_spy,
                    "record",
                    "--pid",
                    str(pid),
                    "--rate",
                    "200",
                    "--nonblocking",
                    "--format",
                    fmt,
                    "--output",
                    str(out),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
            for fmt, out in (("flamegraph", self.svg), ("raw", self.raw))
        ]

    def stop(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in self.procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.info = {
            "flamegraph": str(self.svg.relative_to(ROOT)),
            "top": top_frames(self.raw) if self.raw.exists() else None,
        }
        log(f"profile written to {self.svg}")


def top_frames(raw_path, limit=25):
    """Share of samples in which each function appears (inclusive), from collapsed stacks."""
    inclusive, total = Counter(), 0
    for line in Path(raw_path).read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = {
            f.split(" (")[0] + " (" + f.split(" (")[-1].split(":")[0].rsplit("/", 2)[-1]
            for f in stack.split(";")
            if f
        }
        for frame in frames:
            inclusive[frame] += n
    return (
        [
            {"frame": frame, "percent": round(100 * n / total, 1)}
            for frame, n in inclusive.most_common(limit)
        ]
        if total
        else []
    )


@contextlib.contextmanager
def maybe_record(enabled, pid, name):
    if not enabled:
        yield None
        return
    recording = Recording(pid, name)
    try:
        yield recording
    finally:
        recording.stop()
