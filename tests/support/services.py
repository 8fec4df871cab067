"""The real servers the tests need, started by the project's scripts unless given by URL."""

import os
import socket
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_script(name, *args, timeout=600):
    """Run one of scripts/*.sh and return its standard output."""
    result = subprocess.run(
        ["bash", str(SCRIPTS / name), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # a Ctrl-C of the caller must not kill a half-started server
    )
    if result.returncode != 0:
        raise RuntimeError(f"{name} {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout.strip()


class BackgroundInstall:
    """`scripts/<name> install` started now, at a low priority, and waited for when needed.

    For a tool that takes minutes to build on a fresh machine (promtool): the
    build overlaps the tests that run before the one that needs it.
    """

    def __init__(self, name):
        self.name = name
        self.process = subprocess.Popen(
            ["nice", "-n", "10", "bash", str(SCRIPTS / name), "install"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )

    def wait(self, timeout):
        output, _ = self.process.communicate(timeout=timeout)
        if self.process.returncode != 0:
            raise RuntimeError(f"{self.name} install failed:\n{output}")

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


class ScriptService:
    """A server managed by scripts/<name>.sh (install/start/stop) on its own port."""

    def __init__(self, script, port, *extra_start_args):
        self.script, self.port, self.extra = script, port, list(extra_start_args)

    def start(self):
        run_script(self.script, "install")
        run_script(self.script, "start", "--port", str(self.port), *self.extra)
        return self

    def stop(self):
        run_script(self.script, "stop", "--port", str(self.port))

    def kill(self):
        run_script(self.script, "kill", "--port", str(self.port))

    def address(self, command):
        return run_script(self.script, command, "--port", str(self.port))


def mongodb_uri_from_env():
    return os.environ.get("MONGODB_URI") or None
