"""`flask channels` as a process of its own, SIGKILLed mid-send and restarted: each email once.

The web server and the sender share RabbitMQ (the channel's queue is durable)
and the database; the sender reaches Mailpit through a relay that can hold a
message back after `DATA`, so the kill lands while the SMTP server has not
accepted it yet.
"""

import os
import signal
import subprocess
import sys
import uuid

import pytest

from tests.channels.helpers import email_status, notify, wait_until
from tests.channels.smtp_proxy import HoldingSmtpProxy
from tests.support.clients import Api
from tests.support.processes import herald_env
from tests.support.services import ROOT


class ChannelsProcess:
    def __init__(self, env):
        self.env = {**os.environ, **env}
        self.process = None

    def start(self):
        log = open(ROOT / ".run" / f"channels-{uuid.uuid4().hex[:6]}.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "channels"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        return self

    def kill(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def proxy(mailpit):
    relay = HoldingSmtpProxy(mailpit.smtp_port).start()
    yield relay
    relay.stop()


@pytest.fixture
def channel_processes():
    started = []

    def start(env):
        process = ChannelsProcess(env).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()


def test_a_sender_killed_mid_send_and_restarted_sends_each_email_once(
    own_server, rabbitmq_service, mongodb_uri, mailpit, proxy, channel_processes
):
    shared = {
        "BROKER_URL": rabbitmq_service.url,
        "BROKER_TOPIC": f"herald.kill-{uuid.uuid4().hex[:8]}",
        "BROKER_GROUP_PREFIX": f"kill-{uuid.uuid4().hex[:8]}",
    }
    live = own_server(**shared, CHANNELS_ENABLED=False)  # the web side runs no sender
    api = Api(live.url)
    env = herald_env(
        mongodb_uri,
        **shared,
        BACKGROUND_TASKS="false",
        CHANNELS_ENABLED="true",
        SMTP_URL=proxy.smtp_url,
        SMTP_TIMEOUT="60",
        EMAIL_LEASE="2",
        EMAIL_POLL_INTERVAL="0.1",
        EMAIL_DIGEST_WINDOW="0",
    )
    alice, bob, carol, dave = (api.register(name) for name in ("alice", "bob", "carol", "dave"))
    sender = channel_processes(env)
    # Until the sender's queue exists nothing reaches it: wait for a first email.
    warm_up = wait_until(
        lambda: notify(api, alice, carol, "warm-up") and mailpit.messages_to(carol.email),
        timeout=60,
        step=2,
    )
    assert warm_up

    proxy.hold = True
    held = notify(api, alice, bob, "sent while the sender dies")
    assert proxy.held.wait(30)
    sender.kill()
    # Published while no sender runs: the durable queue keeps it.
    while_down = notify(api, alice, dave, "sent while no sender runs")
    proxy.hold = False

    channel_processes(env)
    # (a new process starts, subscribes and waits out the dead one's lease: allow for a busy CI)
    email_status(api, bob, held["id"], "sent", timeout=60)
    email_status(api, dave, while_down["id"], "sent", timeout=60)
    [bobs] = mailpit.messages_to(bob.email)
    [daves] = mailpit.messages_to(dave.email)
    assert bobs["Subject"] == f"{alice.username}: sent while the sender dies"
    assert daves["Subject"] == f"{alice.username}: sent while no sender runs"
    answer = api.get(f"/api/notifications/{held['id']}/deliveries", account=bob).json()
    # The killed try and the one taken over: 2. One run in five on a loaded machine
    # showed 1 with the email still sent once, cause not found yet (the lead's note
    # on issue 14), so the count is not what this test holds the sender to.
    assert answer["items"][0]["attempts"] in (1, 2)
