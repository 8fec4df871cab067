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
from tests.support.processes import HeraldProcess, herald_env
from tests.support.reliability import Clock, Receiver

SENDERS, SECONDS, DROP_EVERY = 6, 8.0, 0.15


@pytest.mark.slow
def test_a_dropping_client_gets_everything_once_under_concurrent_senders(mongodb_uri):
    herald = HeraldProcess(herald_env(mongodb_uri)).start()
    try:
        api = Api(herald.url)
        senders = [api.register("sender") for _ in range(SENDERS)]
        bob = api.register("bob")
        accepted, answered, lock, clock = set(), {}, threading.Lock(), Clock()
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
                        answered[response.json()["id"]] = clock.now()

        client = Receiver(clock, "bob", bob, [herald.url], backoff=(0.0, 0.0))
        client.start()
        assert client.wait_ready(10)
        first = api.notify(senders[0], bob, "first")["id"]
        accepted.add(first)
        # Only a client that has seen something resumes with `since`; one that never
        # did reconnects without it and is owed no backlog. So cut nothing before this.
        assert wait_until(lambda: client.has([first]), 10), "the first notification never came"
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
        assert wait_until(lambda: client.has(accepted), 30), missing_report(
            client, accepted, answered, herald
        )
        client.stop()
        assert len(client.connections) > 10, "the socket was not cut often enough to tell"
        assert sum(len(c.duplicates) for c in client.connections) == 0
        assert client.across == [], "a notification came again after a reconnect"
    finally:
        herald.stop()


def missing_report(client, accepted, answered, herald):
    """What a failure needs to be understood: each missing id and the connections around it."""
    missing = sorted(i for i in accepted if i not in client.first_seen)
    lines = [f"{len(missing)} of {len(accepted)} notifications never arrived:"]
    for notification_id in missing[:5]:
        at = answered.get(notification_id)
        lines.append(f"- {notification_id}, 201 at t={at}")
        for c in client.connections:
            if at is not None and c.opened_at - 1 <= at <= (c.closed_at or 1e9) + 1:
                lines.append(
                    f"    connection since={c.since} opened={c.opened_at:.3f} "
                    f"ready={c.ready_at} closed={c.closed_at} backlog={len(c.backlog)} "
                    f"ids={len(c.ids)} by={c.closed_by[:40]}"
                )
    lines.append(f"server log: {herald.log_path}")
    return "\n".join(lines)
