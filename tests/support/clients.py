"""Real clients for tests: HTTP through requests, WebSockets through websocket-client."""

import contextlib
import json
import struct
import time
import uuid
from dataclasses import dataclass

import requests
import websocket

from tests.support.frames import handshake

ADMIN_PASSWORD = "admin-password-1"  # the bootstrap admin of the test servers


@dataclass
class Account:
    id: str
    username: str
    email: str
    password: str
    access_token: str
    refresh_token: str

    @property
    def auth(self):
        return {"Authorization": f"Bearer {self.access_token}"}


class Api:
    """A requests session bound to one server's base URL."""

    def __init__(self, base_url):
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()

    def request(self, method, path, *, account=None, headers=None, **kwargs):
        headers = dict(headers or {})
        if account is not None:
            headers.update(account.auth)
        kwargs.setdefault("timeout", 15)
        return self.session.request(method, self.base_url + path, headers=headers, **kwargs)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)

    def put(self, path, **kwargs):
        return self.request("PUT", path, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)

    def register(self, prefix="user", password="correct-horse-1"):
        """Register and log in a fresh account."""
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        email = f"{name}@example.test"
        created = self.post(
            "/api/register", json={"username": name, "email": email, "password": password}
        )
        assert created.status_code == 201, created.text
        return self.login(created.json()["id"], name, email, password)

    def login(self, user_id, username, email, password):
        tokens = self.post("/api/login", json={"username": username, "password": password})
        assert tokens.status_code == 200, tokens.text
        body = tokens.json()
        return Account(
            user_id, username, email, password, body["access_token"], body["refresh_token"]
        )

    def notify(self, sender, recipient, message="hello", **fields):
        response = self.post(
            "/api/notifications",
            account=sender,
            json={"userId": recipient.id, "message": message, **fields},
        )
        assert response.status_code == 201, response.text
        return response.json()


class Socket:
    """A WebSocket client that reads JSON frames with a deadline."""

    def __init__(self, ws):
        self.ws = ws

    @classmethod
    def open(cls, base_url, token=None, *, since=None, seq=None, header_auth=False, timeout=5):
        url = base_url.replace("http://", "ws://").rstrip("/") + "/ws"
        params = []
        if token and not header_auth:
            params.append(f"token={token}")
        if since:
            params.append(f"since={since}")
        if seq is not None:
            params.append(f"seq={seq}")
        if params:
            url += "?" + "&".join(params)
        headers = [f"Authorization: Bearer {token}"] if token and header_auth else []
        return cls(websocket.create_connection(url, timeout=timeout, header=headers))

    def send(self, payload):
        self.ws.send(json.dumps(payload))

    def receive(self, timeout=2.0):
        """The next frame as a dict, or None when nothing came within `timeout`."""
        self.ws.settimeout(timeout)
        try:
            return json.loads(self.ws.recv())
        except websocket.WebSocketTimeoutException:
            return None

    def receive_type(self, kind, timeout=10.0):
        """The next frame of `kind`, skipping others; None when none came in time.

        The default is long because it waits for what should come: on a loaded
        machine (CI builds promtool beside the tests) a worker may take seconds to
        answer. A check that something does not come passes its own short timeout.
        """
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            frame = self.receive(left)
            if frame is not None and frame.get("type") == kind:
                return frame
        return None

    def drain(self, timeout=0.5):
        """Every frame that arrives within `timeout`."""
        frames = []
        while (frame := self.receive(timeout)) is not None:
            frames.append(frame)
        return frames

    def wait_closed(self, timeout=10.0):
        """The close code the server sends within `timeout` (other frames are skipped)."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            self.ws.settimeout(left)
            try:
                opcode, frame = self.ws.recv_data_frame(control_frame=True)
            except websocket.WebSocketTimeoutException:
                return None
            except websocket.WebSocketConnectionClosedException:
                return "closed without a code"
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                return struct.unpack("!H", frame.data[:2])[0] if len(frame.data) >= 2 else None
        return None

    def close(self):
        with contextlib.suppress(Exception):
            self.ws.close()


def wait_until(predicate, timeout=10.0, interval=0.1):
    """Poll `predicate` until it is truthy or `timeout` passes; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def presence_of(watcher, account, timeout=5):
    """The next presence change of `account` the watcher sees (others' are skipped)."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        frame = watcher.receive_type("presence", timeout=left)
        if frame and frame["data"]["userId"] == account.id:
            return frame["data"]
    return None


def raw_websocket(url, token):
    """A client that shakes hands and then never reads: it will not answer pings."""
    conn, _, _ = handshake(url, token)
    return conn
