"""`GET /api/stream`: Server-Sent Events of the caller's frames, over a real HTTP stream."""

import contextlib
import json

import pytest
import requests

from tests.support.clients import wait_until
from tests.support.servers import LiveServer


@pytest.fixture(scope="module")
def server(make_config):
    """A Herald of this module's own: a stream the client closed stays in the hub until
    its next keep-alive finds it gone, and the session server's socket counts must not
    see it."""
    live = LiveServer(make_config())
    yield live
    live.stop()


class EventStream:
    """A streaming GET read as SSE events (`id`, `event`, `data`), comments skipped."""

    def __init__(self, url, **kwargs):
        headers = {"Accept": "text/event-stream", **kwargs.pop("headers", {})}
        self.response = requests.get(url, stream=True, timeout=10, headers=headers, **kwargs)
        self.lines = self.response.iter_lines(decode_unicode=True)

    def next_event(self, kind=None):
        """The next event (of `kind`, if given); the read times out after 10 s."""
        event = {}
        for line in self.lines:
            if line:
                if not line.startswith(":"):
                    name, _, value = line.partition(": ")
                    event[name] = value
                continue
            if "data" in event and (kind is None or event.get("event") == kind):
                return {**event, "data": json.loads(event["data"])}
            event = {}
        return None

    def close(self):
        with contextlib.suppress(Exception):
            self.response.close()


@pytest.fixture
def streams():
    opened = []

    def open_stream(url, **kwargs):
        stream = EventStream(url, **kwargs)
        opened.append(stream)
        return stream

    yield open_stream
    for stream in opened:
        stream.close()


def stream_token(api, account):
    answer = api.post("/api/stream/token", account=account)
    assert answer.status_code == 200, answer.text
    return answer.json()["token"]


def test_a_stream_token_streams_notifications_with_their_ids(server, api, alice, bob, streams):
    stream = streams(f"{server.url}/api/stream", params={"token": stream_token(api, alice)})
    assert stream.response.headers["Content-Type"].startswith("text/event-stream")
    wait_until(lambda: server.node.hub.sessions_of(alice.id))
    assert api.get("/api/users/me", account=alice).json()["connected"] is True
    sent = api.notify(bob, alice, "over sse")
    event = stream.next_event("notification")
    assert event["id"] == sent["id"] and event["data"]["data"]["message"] == "over sse"


def test_last_event_id_resumes_like_since(server, api, alice, bob, streams):
    first = api.notify(bob, alice, "one")
    api.notify(bob, alice, "two")
    stream = streams(
        f"{server.url}/api/stream", headers={**alice.auth, "Last-Event-ID": first["id"]}
    )
    assert stream.next_event("notification")["data"]["data"]["message"] == "two"
    wait_until(lambda: server.node.hub.sessions_of(alice.id))
    api.notify(bob, alice, "three")
    assert stream.next_event("notification")["data"]["data"]["message"] == "three"


def test_a_stream_ends_when_its_token_is_revoked(server, api, alice, streams):
    stream = streams(f"{server.url}/api/stream", params={"token": stream_token(api, alice)})
    wait_until(lambda: server.node.hub.sessions_of(alice.id))
    assert api.post("/api/logout", account=alice, json={"everywhere": True}).status_code == 204
    assert stream.next_event() is None  # the stream ended
    assert wait_until(lambda: not server.node.hub.sessions_of(alice.id))


@pytest.mark.parametrize("params", [{}, {"token": "forged"}, {"since": "not-an-id", "token": None}])
def test_no_stream_without_a_valid_token(server, api, alice, params):
    if params.get("token", "") is None:
        params = {**params, "token": stream_token(api, alice)}
    answer = requests.get(
        f"{server.url}/api/stream",
        params=params,
        headers={"Accept": "text/event-stream"},
        timeout=10,
    )
    assert answer.status_code in (400, 401)
    assert answer.json()["code"] == answer.status_code


def test_presence_when_asked(server, alice, bob, streams, sockets):
    stream = streams(f"{server.url}/api/stream", headers=alice.auth, params={"presence": "1"})
    wait_until(lambda: server.node.hub.sessions_of(alice.id))
    sockets(server.url, bob)
    while (event := stream.next_event("presence")) is not None:
        if event["data"]["data"]["userId"] == bob.id:
            break
    assert event["data"]["data"] == {"userId": bob.id, "username": bob.username, "connected": True}
