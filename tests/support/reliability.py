"""Tools for the kill tests: a steady stream of notifications, resuming socket clients,
the figures of one scenario, and where they are kept.

Everything runs in threads of the test process and talks to Herald over real
sockets. Times are `time.monotonic()` seconds since the scenario's `t0`. The
results go to .run/reliability/ (untracked); `make docs` builds
docs/RELIABILITY.md from them (tests/support/reliability_report.py).
"""

import contextlib
import datetime
import json
import os
import platform
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import requests
import websocket

from tests.support.services import ROOT

RESULTS_DIR = ROOT / ".run" / "reliability"


class Clock:
    """Seconds since the scenario started, plus the wall-clock time of its start."""

    def __init__(self):
        self.t0 = time.monotonic()
        self.wall0 = time.time()

    def now(self):
        return time.monotonic() - self.t0

    def wall(self, t):
        """`t` as a UTC time of day, to line events up with the servers' logs."""
        moment = datetime.datetime.fromtimestamp(self.wall0 + t, datetime.UTC)
        return moment.strftime("%H:%M:%S.%f")[:-3]


# --- the sender -------------------------------------------------------------------------


@dataclass
class Attempt:
    index: int
    target: str  # which Herald ("A", "B", ...)
    recipient: str  # user id
    sent_at: float
    done_at: float = 0.0
    outcome: str = ""  # "201", "503", "500", "4xx:422", "connection", "timeout"
    id: str | None = None


class Sender(threading.Thread):
    """POSTs one notification every `interval` seconds, round-robin over recipients.

    Recipient `i % n`, through target `(i // n) % len(targets)`, so every recipient is
    sent to through every target. Nothing is retried: a refusal, a connection
    error or a timeout is recorded, and the stream goes on at its pace.
    """

    def __init__(self, clock, account, recipients, targets, *, interval, duration, timeout=5.0):
        super().__init__(name="kill-test-sender", daemon=True)
        self.clock, self.account, self.recipients = clock, account, recipients
        self.targets = targets  # [(label, base url)]
        self.interval, self.duration, self.timeout = interval, duration, timeout
        self.max_count = int(duration / interval) + 1
        self.attempts = []
        self.stopped = threading.Event()
        self.finished_at = None

    def run(self):
        sessions = {label: requests.Session() for label, _ in self.targets}
        start = self.clock.now()
        try:
            for index in range(self.max_count):
                slot = start + index * self.interval
                if self.stopped.is_set() or slot - start > self.duration:
                    break
                if (pause := slot - self.clock.now()) > 0:
                    time.sleep(pause)
                recipient = self.recipients[index % len(self.recipients)]
                label, url = self.targets[(index // len(self.recipients)) % len(self.targets)]
                self.attempts.append(self._post(index, sessions[label], label, url, recipient))
        finally:
            self.finished_at = self.clock.now()
            for session in sessions.values():
                session.close()

    def _post(self, index, session, label, url, recipient):
        attempt = Attempt(index, label, recipient.id, self.clock.now())
        try:
            response = session.post(
                url + "/api/notifications",
                headers=self.account.auth,
                json={"userId": recipient.id, "message": f"stream {index}", "type": "kill-test"},
                timeout=self.timeout,
            )
        except requests.Timeout:
            attempt.outcome = "timeout"
        except requests.RequestException:
            attempt.outcome = "connection"
        else:
            status = response.status_code
            attempt.outcome = str(status) if status >= 500 or status == 201 else f"4xx:{status}"
            if status == 201:
                attempt.id = response.json()["id"]
        attempt.done_at = self.clock.now()
        return attempt

    # What the stream did.

    @property
    def accepted(self):
        """id -> attempt, for every 201."""
        return {a.id: a for a in self.attempts if a.outcome == "201"}

    def refused(self):
        """Outcome -> count, for every attempt that did not get a 201."""
        counts = {}
        for attempt in self.attempts:
            if attempt.outcome != "201":
                counts[attempt.outcome] = counts.get(attempt.outcome, 0) + 1
        return counts


# --- the receivers ----------------------------------------------------------------------


@dataclass
class Connection:
    """One WebSocket connection of a client."""

    url: str
    since: str | None
    opened_at: float
    ready_at: float | None = None
    closed_at: float | None = None
    closed_by: str = ""
    ids: list = field(default_factory=list)  # notification ids, in arrival order
    backlog: list = field(default_factory=list)  # of those, the ones before `ready`
    duplicates: list = field(default_factory=list)  # ids this connection got twice


class Receiver(threading.Thread):
    """One client (a browser tab, say) of one user, that reconnects with `since`.

    It reads every frame and records notification ids per connection. On a
    disconnect it reconnects with bounded backoff, to the next of its `urls`
    when a connection attempt fails, resuming from the newest id it has seen
    (ids are UUIDv7, time-ordered, as the server's `since` expects).
    """

    def __init__(self, clock, name, account, urls, *, backoff=(0.1, 1.0), give_up_after=180):
        super().__init__(name=f"kill-test-{name}", daemon=True)
        self.clock, self.label, self.account = clock, name, account
        self.urls, self.url_index = list(urls), 0
        self.backoff, self.give_up_after = backoff, give_up_after
        self.connections = []
        self.first_seen = {}  # id -> when this client first got it
        self.across = []  # (id, connection number, "backlog" | "live"): seen on an earlier one
        self.connect_failures = []  # (time, url, error)
        self.errors = []  # error frames
        self._halt = threading.Event()
        self._ws = None
        self._lock = threading.Lock()

    @property
    def user_id(self):
        return self.account.id

    @property
    def connection(self):
        return self.connections[-1] if self.connections else None

    def newest_id(self):
        return max(self.first_seen) if self.first_seen else None

    def wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.connection and self.connection.ready_at is not None:
                return True
            time.sleep(0.05)
        return False

    def has(self, ids):
        with self._lock:
            return all(i in self.first_seen for i in ids)

    def stop(self):
        self._halt.set()
        with self._lock:
            ws = self._ws
        if ws is not None:
            with contextlib.suppress(Exception):
                ws.close()
        self.join(10)

    def run(self):
        delay = self.backoff[0]
        deadline = time.monotonic() + self.give_up_after
        while not self._halt.is_set() and time.monotonic() < deadline:
            url = self.urls[self.url_index % len(self.urls)]
            since = self.newest_id()
            ws_url = url.replace("http://", "ws://") + f"/ws?token={self.account.access_token}"
            if since:
                ws_url += f"&since={since}"
            try:
                ws = websocket.create_connection(ws_url, timeout=3)
            except Exception as error:
                self.connect_failures.append((self.clock.now(), url, repr(error)[:200]))
                self.url_index += 1
                self._halt.wait(delay)
                delay = min(delay * 2, self.backoff[1])
                continue
            delay = self.backoff[0]
            connection = Connection(url, since, self.clock.now())
            with self._lock:
                self.connections.append(connection)
                self._ws = ws
            try:
                self._read(ws, connection)
            finally:
                connection.closed_at = self.clock.now()
                with self._lock:
                    self._ws = None
                with contextlib.suppress(Exception):
                    ws.close()

    def _read(self, ws, connection):
        ws.settimeout(0.5)
        seen_here = set()
        number = len(self.connections) - 1
        while not self._halt.is_set():
            try:
                text = ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            except Exception as error:  # closed, reset: reconnect
                connection.closed_by = "stopped" if self._halt.is_set() else repr(error)[:200]
                return
            if not text:
                connection.closed_by = "stopped" if self._halt.is_set() else "closed by the server"
                return
            frame = json.loads(text)
            kind = frame.get("type")
            if kind == "ready":
                connection.ready_at = self.clock.now()
            elif kind == "error":
                self.errors.append((self.clock.now(), frame.get("error")))
            elif kind == "notification":
                notification_id = frame["data"]["id"]
                before_ready = connection.ready_at is None
                with self._lock:
                    connection.ids.append(notification_id)
                    if before_ready:
                        connection.backlog.append(notification_id)
                    if notification_id in seen_here:
                        connection.duplicates.append(notification_id)
                    elif notification_id in self.first_seen:
                        self.across.append(
                            (notification_id, number, "backlog" if before_ready else "live")
                        )
                    else:
                        self.first_seen[notification_id] = self.clock.now()
                    seen_here.add(notification_id)
        connection.closed_by = "stopped"

    def summary(self):
        return {
            "client": self.label,
            "user": self.user_id,
            "received": len(self.first_seen),
            "connections": [
                {
                    "url": c.url,
                    "since": c.since,
                    "opened_at": round(c.opened_at, 3),
                    "ready_at": c.ready_at and round(c.ready_at, 3),
                    "closed_at": c.closed_at and round(c.closed_at, 3),
                    "closed_by": c.closed_by,
                    "notifications": len(c.ids),
                    "backlog": len(c.backlog),
                    "duplicates": c.duplicates,
                }
                for c in self.connections
            ],
            "duplicates_across_reconnects": self.across,
            "connect_failures": self.connect_failures[:20],
            "error_frames": self.errors[:20],
        }


# --- REST checks ------------------------------------------------------------------------


def stored_ids(base_url, account, *, timeout=10):
    """Every notification id `account` can list (all pages), or None if the list fails."""
    ids, page = set(), 1
    while page <= 100:
        response = requests.get(
            base_url + "/api/notifications",
            headers=account.auth,
            params={"page": page, "per_page": 100},
            timeout=timeout,
        )
        if response.status_code != 200:
            return None
        body = response.json()
        ids.update(item["id"] for item in body["items"])
        if page >= body["meta"]["totalPages"]:
            return ids
        page += 1
    return ids


def connected(base_url, account):
    """`connected` of `GET /api/users/me`, or None when the request fails."""
    try:
        response = requests.get(base_url + "/api/users/me", headers=account.auth, timeout=5)
    except requests.RequestException:
        return None
    return response.json().get("connected") if response.status_code == 200 else None


def wait_for(predicate, timeout, interval=0.2):
    """Poll until `predicate()` is truthy or `timeout` passes; returns (value, seconds waited)."""
    start = time.monotonic()
    while True:
        value = predicate()
        waited = time.monotonic() - start
        if value or waited > timeout:
            return value, waited
        time.sleep(interval)


# --- figures ----------------------------------------------------------------------------


def figures(*, sender, receivers, kill_at, extra_known=()):
    """The numbers of one scenario, from what the sender and the clients recorded."""
    accepted = sender.accepted
    by_user = {}
    for receiver in receivers:
        by_user.setdefault(receiver.user_id, []).append(receiver)
    delivered = [
        notification_id
        for notification_id, attempt in accepted.items()
        if all(notification_id in r.first_seen for r in by_user.get(attempt.recipient, []))
    ]
    after_kill = {i: a for i, a in accepted.items() if a.sent_at >= kill_at}
    first_201 = min((a.done_at for a in after_kill.values()), default=None)
    recovered = []
    for receiver in receivers:
        times = [t for i, t in receiver.first_seen.items() if i in after_kill]
        if any(a.recipient == receiver.user_id for a in after_kill.values()):
            recovered.append(min(times) if times else None)
    every_client = max(recovered) if recovered and all(t is not None for t in recovered) else None
    known = set(accepted) | set(extra_known)
    return {
        "attempts": len(sender.attempts),
        "accepted": len(accepted),
        "delivered": len(delivered),
        "refused": sender.refused(),
        "refused_total": sum(sender.refused().values()),
        "duplicates_per_socket": sum(len(c.duplicates) for r in receivers for c in r.connections),
        "duplicates_across_reconnects": sum(len(r.across) for r in receivers),
        "duplicates_across_in_backlog": sum(
            1 for r in receivers for _, _, how in r.across if how == "backlog"
        ),
        "reconnects": sum(max(0, len(r.connections) - 1) for r in receivers),
        "delivered_but_not_accepted": sorted({i for r in receivers for i in r.first_seen} - known),
        "first_201_after_kill_s": None if first_201 is None else round(first_201 - kill_at, 2),
        "every_client_receiving_again_s": (
            None if every_client is None else round(every_client - kill_at, 2)
        ),
    }


def machine():
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "load_1m": None if load is None else round(load, 2),
        "python": platform.python_version(),
    }


def new_run_id():
    """A name for one session's results that sorts by time, e.g. 20261128T011000Z-3f9a2c."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + uuid.uuid4().hex[:6]


def run_dir(run_id):
    """The folder of one run's results and logs: .run/reliability/<run id>/."""
    return RESULTS_DIR / run_id


def save_result(result):
    """Keep one scenario's result as .run/reliability/<run id>/<scenario>.json."""
    folder = run_dir(result["run_id"])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{result['key']}.json"
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    return path
