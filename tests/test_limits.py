"""Input and resource limits: body nesting, socket frame size and rate, slow readers."""

import json
import socket
import time

import pytest

from app.realtime import wire
from tests.support.clients import Api, raw_websocket, wait_until
from tests.support.servers import LiveServer

POLICY_VIOLATION, MESSAGE_TOO_BIG = 1008, 1009


def test_deeply_nested_json_is_400_and_creates_nothing(api, alice, bob):
    deep = "[" * 5000 + "]" * 5000
    body = f'{{"userId": "{bob.id}", "message": "deep", "data": {{"x": {deep}}}}}'
    response = api.post(
        "/api/notifications", account=alice, data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400 and "nests deeper" in response.json()["message"]
    assert api.get("/api/notifications", account=bob).json()["meta"]["total"] == 0


def test_brackets_inside_strings_do_not_count_as_nesting(api, alice, bob):
    created = api.notify(alice, bob, "[" * 500 + "{" * 500 + '\\"[')
    assert created["message"].startswith("[[[")


def test_an_oversized_client_frame_closes_the_socket(server, bob, sockets):
    socket_ = sockets(server.url, bob)
    assert socket_.receive_type("ready") is not None
    socket_.ws.send("x" * (server.app.config["WS_MAX_MESSAGE_SIZE"] + 1))
    assert socket_.wait_closed(5) == MESSAGE_TOO_BIG


def test_a_client_sending_too_many_frames_is_closed(server, bob, sockets):
    socket_ = sockets(server.url, bob)
    assert socket_.receive_type("ready") is not None
    burst = int(server.app.config["WS_CLIENT_FRAMES_PER_SECOND"] * 2) + 5
    for _ in range(burst):
        socket_.send({"type": "ping"})
    assert socket_.wait_closed(5) == POLICY_VIOLATION


@pytest.fixture
def small_queues(make_config):
    live = LiveServer(make_config(WS_SEND_QUEUE_SIZE=20))
    yield live
    live.stop()


def test_a_client_that_stops_reading_is_closed_instead_of_growing_memory(small_queues):
    api = Api(small_queues.url)
    bob = api.register("bob")
    hub = small_queues.node.hub
    reader = raw_websocket(small_queues.url, bob.access_token)  # never reads again
    reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    assert wait_until(lambda: hub.socket_count() == 1, 5)

    # Large frames fill the kernel's buffers, then the socket's bounded queue.
    frame = wire.Frame(json.dumps({"type": "notification", "data": {"blob": "x" * 65536}}).encode())
    sent = 0
    deadline = time.monotonic() + 30
    while hub.socket_count() and time.monotonic() < deadline:
        hub.deliver(bob.id, f"00000000-0000-7000-8000-{sent:012d}", frame)
        sent += 1
        time.sleep(0.002)
    assert hub.socket_count() == 0, "the slow socket was never closed"
    assert sent > small_queues.app.config["WS_SEND_QUEUE_SIZE"]
    reader.close()
