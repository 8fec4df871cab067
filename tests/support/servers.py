"""Herald served for real: in a thread of the test process, or as its own process."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
from werkzeug.serving import make_server

from app import create_app
from app.realtime import runtime_of
from tests.support.services import ROOT, free_port


class LiveServer:
    """A Herald app served by werkzeug on 127.0.0.1 in a background thread.

    Tests reach it only over sockets; holding the app in-process lets a test
    inject a broker fault (the outbox test) or look at the hub.
    """

    def __init__(self, config, setup=None, *, wait_for_consumer=True):
        self.app = create_app(config)
        if setup is not None:  # e.g. extra routes, before the first request
            setup(self.app)
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        realtime = self.realtime
        if wait_for_consumer and realtime.started and realtime.consume:
            # Like /readyz for a real deployment: sockets are refused until it listens.
            realtime.consumer.subscribed.wait(30)

    @property
    def realtime(self):
        return runtime_of(self.app)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.realtime.stop()


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
    """Herald under gunicorn's gevent worker in a child process of its own."""

    running = set()  # so the session can stop whatever a failed test left behind

    @classmethod
    def kill_all(cls):
        for herald in list(cls.running):
            herald.kill()

    def __init__(self, env, *, port=None, log_path=None, app="wsgi:app"):
        self.app = app
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **env, "HOST": "127.0.0.1", "PORT": str(self.port)}
        self.log_path = Path(log_path or ROOT / ".run" / f"herald-{self.port}.log")
        self.process = None

    def start(self, timeout=30, ready_path="/readyz"):
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(ROOT / "gunicorn.conf.py"),
            self.app,
        ]
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
            self._wait_healthy(timeout, ready_path)
        except BaseException:
            self.kill()
            raise
        return self

    def _wait_healthy(self, timeout, ready_path):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Herald exited early; see {self.log_path}")
            try:
                if requests.get(self.url + ready_path, timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"Herald did not become ready; see {self.log_path}")

    def __enter__(self):  # `with HeraldProcess(env).start() as herald:` stops it after
        return self

    def __exit__(self, *_exc):
        self.stop()

    def stop(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.running.discard(self)

    def kill(self):
        """SIGKILL the whole process group, as a crash would."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.running.discard(self)
