"""Resuming with `since` while many senders notify one user at once.

Concurrent requests save their notifications in any order; a client whose socket
keeps dropping must still get every accepted notification exactly once across
its reconnects (it resumes from the newest id it has seen).
"""

import contextlib
import threading
import time

import pytest
import requests

from tests.support.clients import Api, wait_until
from tests.support.reliability import Clock, Receiver
from tests.support.servers import HeraldProcess

SENDERS, SECONDS, DROP_EVERY = 6, 8.0, 0.15


@pytest.mark.slow
def test_a_dropping_client_gets_everything_once_under_concurrent_senders(mongodb_uri):
    herald = HeraldProcess(
        {
            "HERALD_ENV": "testing",
            "MONGODB_URI": mongodb_uri,
            "BROKER_URL": "memory://",
            "JWT_SECRET_KEY": "resume-race-secret-0123456789abcdef",
            "ACCESS_LOG": "",
        }
    ).start()
    try:
        api = Api(herald.url)
        senders = [api.register("sender") for _ in range(SENDERS)]
        bob = api.register("bob")
        accepted, lock = set(), threading.Lock()
        stop_at = time.monotonic() + SECONDS

        def send(account):
            session = requests.Session()
            while time.monotonic() < stop_at:
                response = session.post(
                    herald.url + "/api/notifications",
                    headers=account.auth,
                    json={"userId": bob.id, "message": "m"},
                    timeout=10,
                )
                if response.status_code == 201:
                    with lock:
                        accepted.add(response.json()["id"])

        client = Receiver(Clock(), "bob", bob, [herald.url], backoff=(0.0, 0.0))
        client.start()
        assert client.wait_ready(10)
        with lock:
            accepted.add(api.notify(senders[0], bob, "first")["id"])
        threads = [threading.Thread(target=send, args=(a,)) for a in senders]
        for thread in threads:
            thread.start()
        while time.monotonic() < stop_at:  # cut the client's socket again and again
            time.sleep(DROP_EVERY)
            if (ws := client._ws) is not None:
                with contextlib.suppress(OSError):
                    ws.sock.shutdown(2)
        for thread in threads:
            thread.join()
        assert wait_until(lambda: client.has(accepted), 30), "some notifications never arrived"
        client.stop()
        assert len(client.connections) > 10, "the socket was not cut often enough to tell"
        assert sum(len(c.duplicates) for c in client.connections) == 0
        assert client.across == [], "a notification came again after a reconnect"
    finally:
        herald.stop()
