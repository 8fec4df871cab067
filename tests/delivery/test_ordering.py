"""One instance publishes its notifications in id order, however its requests interleave.

A client resumes from the newest id it has seen, so an instance that published
a newer id before an older one was saved would make it skip the older one.
"""

import contextlib
import uuid

from app.brokers import create_broker
from app.delivery import events
from app.delivery.outbox import OutboxEntry
from app.delivery.relay import OutboxRelay
from app.notifications import service
from app.notifications.models import Notification


def test_the_relay_holds_a_newer_id_back_while_an_older_one_is_being_saved(
    server, alice, bob, monkeypatch
):
    """The interleaving that made resumes skip notifications: the relay takes its
    bound; then request A makes its id and announces it in the outbox, and request B
    is saved whole; only then does the relay read the outbox. B must wait for A."""
    topic = f"ordering-{uuid.uuid4().hex}"
    broker = create_broker(f"memory://{uuid.uuid4().hex}")
    subscription = broker.subscribe(topic, group="watcher")
    relay = OutboxRelay(
        broker,
        instance_id=f"ordering-test-{uuid.uuid4().hex}",
        topic=topic,
        poll_interval=1.0,
        orphan_after=60.0,
        batch_size=100,
        change_retention=3600.0,
    )
    request_a, ids = contextlib.ExitStack(), {}
    take_bound = relay.order.publishable_below

    def take_bound_then_let_requests_run():
        bound = take_bound()
        if not ids:
            (ids["a"],) = request_a.enter_context(relay.new_ids(1))
            relay.announce([ids["a"]])
            b, _ = service.create_notification(
                sender_id=alice.id, user_id=bob.id, message="b", outbox=relay
            )
            ids["b"] = b.id
        return bound

    def published():
        messages = []
        while (message := subscription.poll(0.2)) is not None:
            subscription.ack(message)
            messages.append(events.decode(message.value).notification_id)
        return messages

    with server.app.app_context():
        monkeypatch.setattr(relay.order, "publishable_below", take_bound_then_let_requests_run)
        relay.relay_once()
        assert published() == [], "B went out while A, older, was still being saved"

        Notification(id=ids["a"], user_id=bob.id, sender_id=alice.id, message="a").save(
            force_insert=True
        )
        request_a.close()  # A is saved: both may go, in id order
        while relay.relay_once():
            pass
        assert published() == [ids["a"], ids["b"]]
        assert OutboxEntry.objects(publisher=relay.instance_id).count() == 0
