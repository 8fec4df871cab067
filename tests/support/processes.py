"""Herald as a process of its own: gunicorn's gevent worker in a child process.

One launcher for the tests that need a real gunicorn (signals, SIGKILL, several
instances) and for the benchmarks (several workers, another WSGI app, the
workers' pids for their CPU and memory).
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.support.services import ROOT, free_port


def herald_env(mongodb_uri, **overrides):
    """The environment of a testing Herald process on the memory broker, plus `overrides`."""
    return {
        "HERALD_ENV": "testing",
        "MONGODB_URI": mongodb_uri,
        "BROKER_URL": "memory://",
        "JWT_SECRET_KEY": "herald-process-test-secret-0123456789",
        "ACCESS_LOG": "",
        **overrides,
    }


class HeraldProcess:
    """Herald (or another WSGI app, `app`) under gunicorn's gevent worker in a child process.

    `workers` sets WEB_CONCURRENCY and makes `start` wait until that many
    workers run; `stop_grace` is how long `stop` waits after SIGTERM before
    SIGKILL (a benchmark does not wait on 10,000 graceful closes).
    """

    running = set()  # so the session can stop whatever a failed test left behind

    @classmethod
    def kill_all(cls):
        for herald in list(cls.running):
            herald.kill()

    def __init__(
        self, env, *, port=None, log_path=None, app="wsgi:app", workers=None, stop_grace=20
    ):
        self.app, self.workers, self.stop_grace = app, workers, stop_grace
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **env, "HOST": "127.0.0.1", "PORT": str(self.port)}
        if workers is not None:
            self.env["WEB_CONCURRENCY"] = str(workers)
        self.log_path = Path(log_path or ROOT / ".run" / f"herald-{self.port}.log")
        self.process = None

    def start(self, timeout=30, ready_path="/readyz"):
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), self.app]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.running.add(self)
        try:
            self._wait_ready(timeout, ready_path)
        except BaseException:
            self.kill()
            raise
        return self

    def _wait_ready(self, timeout, ready_path):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.app} exited early; see {self.log_path}")
            with contextlib.suppress(requests.RequestException):
                ready = requests.get(self.url + ready_path, timeout=5).status_code == 200
                if ready and self._workers_up():
                    return
            time.sleep(0.2)
        raise RuntimeError(f"{self.app} did not become ready; see {self.log_path}")

    def _workers_up(self):
        return self.workers is None or len(self.worker_pids()) >= self.workers

    def worker_pids(self):
        """The pids of gunicorn's workers (the children of its master), on Linux."""
        if self.process is None:
            return []
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        with contextlib.suppress(OSError):
            return [int(pid) for pid in path.read_text().split()]
        return []

    def __enter__(self):  # `with HeraldProcess(env).start() as herald:` stops it after
        return self

    def __exit__(self, *_exc):
        self.stop()

    def stop(self):
        """SIGTERM the process group, and SIGKILL it if it is not gone in `stop_grace` s."""
        if self.process and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(self.stop_grace)
            except subprocess.TimeoutExpired:
                self.kill()
        self.running.discard(self)

    def kill(self):
        """SIGKILL the whole process group, as a crash would."""
        if self.process and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.running.discard(self)


class RestartableHerald:
    """A gunicorn Herald that can be stopped and started again on the same port."""

    def __init__(self, env):
        self.env, self.port, self.current = env, free_port(), None

    def start(self):
        self.current = HeraldProcess(self.env, port=self.port).start()
        return self.current

    def crash(self):
        """SIGKILL: sockets drop at once, with no close frame (a graceful stop waits for
        gunicorn's graceful_timeout while a WebSocket is open)."""
        if self.current is not None:
            self.current.kill()

    def stop(self):
        if self.current is not None:
            self.current.stop()
