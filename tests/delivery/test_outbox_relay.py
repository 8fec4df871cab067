"""The relay publishes what its instance saved without reading it back, and only once.

Each test changes the stored copy after saving, so the published message tells
where the relay took the notification from: "as saved" from what it was
handed, "as stored" from the database.
"""

import uuid

import pytest

from app.brokers import create_broker
from app.delivery import events
from app.delivery import relay as relay_module
from app.delivery.relay import OutboxRelay
from app.ids import new_id
from app.notifications import service
from app.notifications.models import Notification


@pytest.fixture
def relay():
    topic = f"relay-{uuid.uuid4().hex}"
    relay = OutboxRelay(
        create_broker(f"memory://{uuid.uuid4().hex}"),
        instance_id=f"relay-test-{uuid.uuid4().hex}",
        topic=topic,
        poll_interval=1.0,
        orphan_after=60.0,
        batch_size=100,
        change_retention=3600.0,
    )
    relay.subscription = relay.broker.subscribe(topic, group="watcher")
    return relay


def stored_differently(*notifications):
    for notification in notifications:
        Notification.objects(id=notification.id).update_one(set__message="as stored")


def save(alice, bob, relay):
    """Create a notification the way a request does (it is handed to the relay)."""
    notification, _ = service.create_notification(
        sender_id=alice.id, user_id=bob.id, message="as saved", outbox=relay
    )
    stored_differently(notification)
    return notification


def save_without_handing_over(alice, bob, relay):
    """An entry of this relay whose notification it was not handed (an earlier process)."""
    notification = Notification(id=new_id(), user_id=bob.id, sender_id=alice.id, message="x")
    relay.announce([notification.id])
    notification.save(force_insert=True)
    stored_differently(notification)
    return notification


def relay_all(relay):
    """Run the relay until it settles nothing more; the payloads it published."""
    while relay.relay_once():
        pass
    payloads = []
    while (message := relay.subscription.poll(0.2)) is not None:
        relay.subscription.ack(message)
        payloads.append(events.decode(message.value).payload)
    return payloads


def test_a_created_notification_is_published_as_saved(server, alice, bob, relay):
    with server.app.app_context():
        save(alice, bob, relay)
        [payload] = relay_all(relay)
    assert b'"as saved"' in payload
    assert relay._handed == {}


def test_a_broadcast_is_published_as_saved(server, alice, bob, relay):
    with server.app.app_context():
        service.broadcast(
            sender_id=alice.id, message="as saved", outbox=relay, user_ids=[alice.id, bob.id]
        )
        stored_differently(*Notification.objects(sender_id=alice.id, message="as saved"))
        payloads = relay_all(relay)
    assert len(payloads) == 2
    assert all(b'"as saved"' in p for p in payloads)


def test_one_not_handed_over_is_read_back(server, alice, bob, relay):
    with server.app.app_context():
        save_without_handing_over(alice, bob, relay)
        [payload] = relay_all(relay)
    assert b'"as stored"' in payload


def test_one_handed_over_after_it_went_out_is_forgotten_not_sent_again(server, alice, bob, relay):
    with server.app.app_context():
        late = save_without_handing_over(alice, bob, relay)
        assert len(relay_all(relay)) == 1
        relay.saved([late])
        assert relay_all(relay) == []
    assert relay._handed == {}, "a handed notification whose entry is gone stays in memory"


def test_beyond_the_limit_notifications_are_read_back(server, alice, bob, relay, monkeypatch):
    monkeypatch.setattr(relay_module, "HANDED_LIMIT", 1)
    with server.app.app_context():
        save(alice, bob, relay)
        save(alice, bob, relay)
        payloads = relay_all(relay)
    assert [b'"as saved"' in p for p in payloads] == [True, False]
