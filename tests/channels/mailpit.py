"""Mailpit, the real SMTP server of these tests, run as a process; its HTTP API reads what arrived.

Built by scripts/mailpit.sh (tests/conftest.py starts the build at the session's
start). Chaos (`refuse`) makes its SMTP server answer with an error code, as a
real server refusing mail would.
"""

import contextlib
import subprocess
import time

import requests

from tests.support.services import ROOT, free_port, run_script


class Mailpit:
    def __init__(self, extra=()):
        self.extra = list(extra)  # more mailpit flags (TLS...)
        self.smtp_port, self.http_port = free_port(), free_port()
        self.api = f"http://127.0.0.1:{self.http_port}/api/v1"
        self.process = None

    @property
    def smtp_url(self):
        return f"smtp://127.0.0.1:{self.smtp_port}"

    def start(self):
        binary = run_script("mailpit.sh", "path")
        log = open(ROOT / ".run" / f"mailpit-{self.smtp_port}.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                binary,
                "--smtp",
                f"127.0.0.1:{self.smtp_port}",
                "--listen",
                f"127.0.0.1:{self.http_port}",
                "--enable-chaos",
                "--smtp-auth-accept-any",
                # (plain-text logins over plain SMTP; Mailpit refuses it beside required TLS)
                *(
                    []
                    if any("tls" in flag for flag in self.extra)
                    else ["--smtp-auth-allow-insecure"]
                ),
                "--disable-version-check",
                "--max",
                "5000",
                *self.extra,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                if requests.get(self.api + "/info", timeout=2).ok:
                    return self
            time.sleep(0.1)
        raise RuntimeError("Mailpit did not start")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def messages_to(self, address):
        """Summaries of the messages to `address`, oldest first."""
        found = requests.get(
            self.api + "/search", params={"query": f'to:"{address}"', "limit": 500}, timeout=5
        )
        found.raise_for_status()
        return list(reversed(found.json()["messages"]))

    def message(self, message_id):
        """One message in full: Subject, Text, HTML, MessageID..."""
        full = requests.get(f"{self.api}/message/{message_id}", timeout=5)
        full.raise_for_status()
        return full.json()

    def headers(self, message_id):
        found = requests.get(f"{self.api}/message/{message_id}/headers", timeout=5)
        found.raise_for_status()
        return found.json()

    def wait_for(self, address, count=1, timeout=20):
        """The messages to `address` once there are at least `count`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            messages = self.messages_to(address)
            if len(messages) >= count:
                return messages
            time.sleep(0.2)
        raise AssertionError(f"{len(self.messages_to(address))} of {count} emails to {address}")

    def refuse(self, code=None):
        """Make the SMTP server answer MAIL FROM with `code` (451, 550...), or stop (None)."""
        trigger = {"ErrorCode": code or 451, "Probability": 100 if code else 0}
        changed = requests.put(self.api + "/chaos", json={"Sender": trigger}, timeout=5)
        changed.raise_for_status()
