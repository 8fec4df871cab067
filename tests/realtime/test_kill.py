"""SIGKILL a Herald instance, the database server and the broker in the middle of a
steady stream of notifications to connected users.

After recovery every notification that got a 201 must be stored and must have
reached every client of its recipient (live, or through the resume with
`since`), no socket may receive an id twice, no resume may repeat an id the
client already had, and presence must be right again. Each scenario's figures
go to .run/reliability/<run id>/<scenario>.json, with the servers' logs beside
them; `make docs` rebuilds docs/RELIABILITY.md from the newest complete run.
"""

import datetime
import shutil
import tempfile
import time
import uuid

import pytest
import requests

from tests.support.clients import Api
from tests.support.processes import HeraldProcess
from tests.support.reliability import (
    Clock,
    Receiver,
    Sender,
    connected,
    figures,
    machine,
    new_run_id,
    run_dir,
    save_result,
    stored_ids,
    wait_for,
)
from tests.support.services import ScriptService, free_port

pytestmark = pytest.mark.slow

RUN_ID = new_run_id()
LOGS_DIR = run_dir(RUN_ID) / "logs"
SCENARIOS = [
    "herald-kill-rabbitmq",
    "herald-kill-kafka",
    "database-kill-rabbitmq",
    "broker-kill-rabbitmq",
    "broker-kill-kafka",
]
STREAM = {
    "interval_s": 0.05,  # one POST every 50 ms
    "duration_s": 8.0,
    "recipients": 4,
    "kill_after_s": 2.5,  # into the stream
}
HELD_DOWN_S = 2.0  # a killed part stays dead this long before its restart begins
DELIVERY_WAIT_S = 90  # after the stream, for every accepted id to reach its clients
PRESENCE_WAIT_S = 20
JWT_SECRET = "kill-test-secret-0123456789abcdef0123"


class Scenario:
    """One kill scenario: its servers, clients, stream, timeline and verdict."""

    def __init__(self, key, title, broker):
        self.key, self.title, self.broker = key, title, broker
        self.clock = Clock()
        self.started = time.monotonic()
        self.topic = f"herald-kill-{uuid.uuid4().hex[:8]}"
        self.heralds = {}
        self.receivers = []
        self.sender = None
        self.timeline = []
        self.failures = []
        self.details = {}
        self.kill_at = None
        self.down_for = None
        LOGS_DIR.mkdir(parents=True, exist_ok=True)

    def note(self, what):
        t = self.clock.now()
        self.timeline.append((round(t, 3), self.clock.wall(t), what))

    # Servers and clients.

    def herald(self, label, broker_url, mongodb_uri, **env):
        log = LOGS_DIR / f"{self.key}-{label}.log"
        log.unlink(missing_ok=True)
        herald = HeraldProcess(
            {
                "HERALD_ENV": "testing",
                "MONGODB_URI": mongodb_uri,
                "BROKER_URL": broker_url,
                "BROKER_TOPIC": self.topic,
                "BROKER_DEAD_LETTER_TOPIC": f"{self.topic}.dlq",
                "JWT_SECRET_KEY": JWT_SECRET,
                "PRESENCE_TTL": "3",
                "OUTBOX_POLL_INTERVAL": "0.5",
                "ACCESS_LOG": "",
                **env,
            },
            log_path=log,
        )
        self.heralds[label] = herald
        herald.start(timeout=90)
        self.note(f"Herald {label} ready on {herald.url}")
        return herald

    def client(self, name, account, urls):
        receiver = Receiver(self.clock, name, account, urls)
        self.receivers.append(receiver)
        receiver.start()
        return receiver

    def warm_up(self, api, sender, recipients):
        """One notification per recipient, seen by every client: the pipeline is live and
        every client has an id to resume from."""
        for receiver in self.receivers:
            assert receiver.wait_ready(30), f"{receiver.label} got no ready frame"
        ids = {r.id: api.notify(sender, r, "warm-up")["id"] for r in recipients}
        _, waited = wait_for(
            lambda: all(r.has([ids[r.user_id]]) for r in self.receivers), timeout=60
        )
        assert all(r.has([ids[r.user_id]]) for r in self.receivers), "warm-up not delivered"
        self.warm_up_ids = set(ids.values())
        self.note(f"warm-up delivered in {waited:.1f}s")

    def stream(self, account, recipients, targets):
        self.sender = Sender(
            self.clock,
            account,
            recipients,
            targets,
            interval=STREAM["interval_s"],
            duration=STREAM["duration_s"],
        )
        self.note("stream starts")
        self.sender.start()
        time.sleep(STREAM["kill_after_s"])

    def kill(self, what, kill):
        """SIGKILL `what` by calling `kill`; times count from when it is gone."""
        self.note(f"SIGKILL {what}")
        kill()
        self.kill_at = self.clock.now()
        self.note(f"{what} is dead")

    def restarted(self, what):
        self.down_for = self.clock.now() - self.kill_at
        self.note(f"{what} back after {self.down_for:.1f}s")

    # Checks.

    def finish_stream(self):
        self.sender.join(STREAM["duration_s"] + 60)
        assert not self.sender.is_alive(), "the sender did not finish"
        self.note(f"stream ended: {len(self.sender.accepted)} accepted")

    def expect_delivery(self):
        """Wait (bounded) until every accepted id reached every client of its recipient."""
        wanted = {}
        for notification_id, attempt in self.sender.accepted.items():
            wanted.setdefault(attempt.recipient, []).append(notification_id)
        _, waited = wait_for(
            lambda: all(r.has(wanted.get(r.user_id, [])) for r in self.receivers),
            DELIVERY_WAIT_S,
        )
        self.note(f"delivery check after {waited:.1f}s")
        lost = []
        for receiver in self.receivers:
            for notification_id in wanted.get(receiver.user_id, []):
                if notification_id not in receiver.first_seen:
                    attempt = self.sender.accepted[notification_id]
                    lost.append(
                        {
                            "id": notification_id,
                            "client": receiver.label,
                            "through": attempt.target,
                            "sent_at": attempt.sent_at,
                            "sent_wall": self.clock.wall(attempt.sent_at),
                            "answered_at": attempt.done_at,
                        }
                    )
        if lost:
            self.details["not_delivered"] = lost
            self.failures.append(
                f"{len(lost)} accepted notification deliveries never reached their client: "
                + ", ".join(
                    f"{x['id']} -> {x['client']} (sent t={x['sent_at']:.2f}s via {x['through']})"
                    for x in lost[:10]
                )
            )

    def expect_stored(self, base_url, recipients):
        by_user = {r.id: r for r in recipients}
        missing = []
        for user_id, account in by_user.items():
            ids = [i for i, a in self.sender.accepted.items() if a.recipient == user_id]
            listed, _ = wait_for(lambda a=account: stored_ids(base_url, a), timeout=30)
            if listed is None:
                self.failures.append(f"could not list the notifications of {account.username}")
                continue
            for notification_id in set(ids) - listed:
                response = requests.get(
                    f"{base_url}/api/notifications/{notification_id}",
                    headers=account.auth,
                    timeout=10,
                )
                if response.status_code != 200:
                    missing.append((notification_id, response.status_code))
        if missing:
            self.details["not_stored"] = missing
            self.failures.append(
                f"{len(missing)} accepted notifications not stored: {missing[:10]}"
            )
        self.note("storage checked")

    def expect_presence(self, base_url, recipients, want):
        def right():
            return all(connected(base_url, r) is want for r in recipients)

        ok, waited = wait_for(right, PRESENCE_WAIT_S, interval=0.3)
        self.note(f"presence connected={want}: {'right' if ok else 'WRONG'} after {waited:.1f}s")
        if not ok:
            states = {r.username: connected(base_url, r) for r in recipients}
            self.failures.append(
                f"presence stuck: wanted connected={want} within {PRESENCE_WAIT_S}s, got {states}"
            )
        return waited

    def close_clients(self):
        for receiver in self.receivers:
            receiver.stop()
        self.note("clients closed")

    # Verdict.

    def conclude(self):
        numbers = figures(
            sender=self.sender,
            receivers=self.receivers,
            kill_at=self.kill_at,
            extra_known=getattr(self, "warm_up_ids", ()),
        )
        for receiver in self.receivers:
            for connection in receiver.connections:
                if connection.duplicates:
                    self.failures.append(
                        f"{receiver.label} got {connection.duplicates} twice on one socket "
                        f"({connection.url}, opened t={connection.opened_at:.2f}s)"
                    )
            backlog_repeats = [x for x in receiver.across if x[2] == "backlog"]
            if backlog_repeats:
                self.failures.append(
                    f"the resume of {receiver.label} repeated ids it already had: "
                    f"{backlog_repeats[:10]}"
                )
            live_repeats = [x for x in receiver.across if x[2] == "live"]
            if live_repeats:
                self.failures.append(
                    f"{receiver.label} got ids again, live, on a later socket: {live_repeats[:10]}"
                )
        result = {
            "key": self.key,
            "run_id": RUN_ID,
            "scenarios": SCENARIOS,  # what makes this run complete, for `make docs`
            "title": self.title,
            "broker": self.broker,
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "machine": machine(),
            "stream": STREAM,
            "duration_s": round(time.monotonic() - self.started, 1),
            "held_down_s": HELD_DOWN_S,
            "down_for_s": None if self.down_for is None else round(self.down_for, 2),
            "kill_at_s": self.kill_at,
            "figures": numbers,
            "failures": self.failures,
            "details": self.details,
            "timeline": self.timeline,
            "logs": {label: str(h.log_path) for label, h in self.heralds.items()},
            "clients": [r.summary() for r in self.receivers],
            "attempts": [
                {
                    "i": a.index,
                    "via": a.target,
                    "to": a.recipient,
                    "sent_at": round(a.sent_at, 3),
                    "done_at": round(a.done_at, 3),
                    "outcome": a.outcome,
                    "id": a.id,
                }
                for a in self.sender.attempts
            ],
        }
        path = save_result(result)
        assert not self.failures, (
            f"{self.title} ({self.broker}):\n- "
            + "\n- ".join(self.failures)
            + f"\nDetails: {path}; logs: {result['logs']}"
        )
        return numbers

    def stop(self):
        for receiver in self.receivers:
            if receiver.is_alive():
                receiver.stop()
        if self.sender is not None:
            self.sender.stopped.set()
            self.sender.join(10)
        for herald in self.heralds.values():
            herald.stop()


def register(api, count):
    sender = api.register("kill_sender")
    recipients = [api.register(f"kill_user{i}") for i in range(count)]
    return sender, recipients


@pytest.fixture(params=["rabbitmq", "kafka"])
def broker(request):
    return request.param, request.getfixturevalue(f"{request.param}_service")


@pytest.fixture
def scenario(request):
    made = []

    def make(key, title, broker_name):
        made.append(Scenario(key, title, broker_name))
        return made[-1]

    yield make
    for each in made:
        each.stop()


def test_sigkill_of_the_instance_holding_the_sockets(broker, mongodb_uri, scenario):
    """Two instances; the sockets are on A, the stream goes through A and B; A is killed,
    the clients move to B with `since`, and A is restarted on its port."""
    name, service = broker
    run = scenario(f"herald-kill-{name}", "SIGKILL a Herald instance", name)
    a = run.herald("A", service.url, mongodb_uri)
    b = run.herald("B", service.url, mongodb_uri)
    api = Api(b.url)
    sender, recipients = register(api, STREAM["recipients"])
    for i, user in enumerate(recipients):
        run.client(f"user{i}@A", user, [a.url, b.url])
    run.client("user0@B", recipients[0], [b.url, a.url])  # a second tab, on the survivor
    run.warm_up(api, sender, recipients)
    run.expect_presence(b.url, recipients, want=True)

    run.stream(sender, recipients, [("A", a.url), ("B", b.url)])
    run.kill("Herald A", a.kill)
    try:
        time.sleep(HELD_DOWN_S)
    finally:
        a.start(timeout=90)
    run.restarted("Herald A")
    run.finish_stream()

    refused_by_b = [x for x in run.sender.attempts if x.target == "B" and x.outcome != "201"]
    if refused_by_b:
        run.failures.append(f"the surviving instance refused {len(refused_by_b)} requests")
    run.expect_delivery()
    run.expect_stored(b.url, recipients)
    run.expect_presence(a.url, recipients, want=True)
    run.close_clients()
    run.expect_presence(b.url, recipients, want=False)
    run.conclude()


def test_sigkill_of_the_database_server(rabbitmq_service, scenario):
    """FerretDB is killed mid-stream and restarted on its port and data: requests in the
    outage get 503, everything that got a 201 is stored and delivered."""
    run = scenario("database-kill-rabbitmq", "SIGKILL the database server", "rabbitmq")
    data_dir = tempfile.mkdtemp(prefix="herald-kill-db-")
    database = ScriptService("ferretdb.sh", free_port(), "--data", data_dir).start()
    dead = False
    try:
        uri = database.address("uri") + "kill_test"
        herald = run.herald("A", rabbitmq_service.url, uri, MONGODB_TIMEOUT_MS="1000")
        api = Api(herald.url)
        sender, recipients = register(api, STREAM["recipients"])
        for i, user in enumerate(recipients):
            run.client(f"user{i}", user, [herald.url])
        run.warm_up(api, sender, recipients)

        run.stream(sender, recipients, [("A", herald.url)])
        dead = True
        run.kill("FerretDB", database.kill)
        time.sleep(HELD_DOWN_S)
        database.start()
        dead = False
        run.restarted("FerretDB")
        run.finish_stream()

        outcomes = set(run.sender.refused())
        if not outcomes & {"503"}:
            run.failures.append(f"no request got a 503 during the outage: {run.sender.refused()}")
        if outcomes - {"503", "timeout"}:
            run.failures.append(f"refusals other than 503 or timeouts: {run.sender.refused()}")
        run.expect_delivery()
        run.expect_stored(herald.url, recipients)
        run.expect_presence(herald.url, recipients, want=True)
        run.close_clients()
        run.expect_presence(herald.url, recipients, want=False)
        run.conclude()
    finally:
        run.stop()
        if dead:
            database.start()
        database.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def test_sigkill_of_the_broker(broker, mongodb_uri, scenario):
    """The broker is killed mid-stream and restarted: Herald keeps answering 201 (the
    outbox holds the notifications) and delivers them once the broker is back."""
    name, service = broker
    run = scenario(f"broker-kill-{name}", "SIGKILL the broker", name)
    herald = run.herald("A", service.url, mongodb_uri)
    api = Api(herald.url)
    sender, recipients = register(api, STREAM["recipients"])
    for i, user in enumerate(recipients):
        run.client(f"user{i}", user, [herald.url])
    run.warm_up(api, sender, recipients)

    run.stream(sender, recipients, [("A", herald.url)])
    run.kill(name, service.kill)
    try:
        time.sleep(HELD_DOWN_S)
    finally:
        service.start()
    run.restarted(name)
    run.finish_stream()

    if run.sender.refused():
        run.failures.append(f"requests refused while the broker was down: {run.sender.refused()}")
    run.expect_delivery()
    run.expect_stored(herald.url, recipients)
    run.expect_presence(herald.url, recipients, want=True)
    run.close_clients()
    run.expect_presence(herald.url, recipients, want=False)
    run.conclude()
