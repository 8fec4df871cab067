"""The channel framework on the in-process broker: shared durable groups, replays per channel."""

import queue
from uuid import uuid4

import config as settings_module
from app.brokers.memory import MemoryBroker
from app.channels.runner import ChannelRunner
from app.delivery import dead_letters, events
from app.delivery.consumer import EventConsumer
from app.ids import new_id

TOPIC = "herald.notifications"


def consumer(broker, channel, received):
    return EventConsumer(
        broker,
        lambda event: received.put((channel, event.notification_id)),
        topic=TOPIC,
        dead_letter_topic="herald.dead-letters",
        group=f"group-{channel}",
        instance_id="test",
        max_attempts=1,
        base_delay=0.01,
        channel=channel,
        durable=channel != dead_letters.SOCKET,
    )


def payload(notification_id):
    data = {"id": notification_id, "userId": new_id()}
    return events._dump({"type": events.NOTIFICATION, "data": data})


def test_a_replayed_dead_letter_reaches_only_the_channel_it_names():
    broker = MemoryBroker(f"memory://{uuid4().hex}")
    received = queue.Queue()
    consumers = [consumer(broker, name, received) for name in ("socket", "email")]
    for started in consumers:
        started.start()
        assert started.subscribed.wait(5)
    try:
        fresh, replayed, marker = new_id(), new_id(), new_id()
        broker.publish(TOPIC, payload(fresh))
        broker.publish(TOPIC, payload(replayed), headers={dead_letters.REPLAY_FOR: "email"})
        broker.publish(TOPIC, payload(marker))  # after it: what each channel saw is complete
        seen = {"socket": [], "email": []}
        for _ in range(5):
            channel, notification_id = received.get(timeout=5)
            seen[channel].append(notification_id)
        assert seen == {"socket": [fresh, marker], "email": [fresh, replayed, marker]}
    finally:
        for started in consumers:
            started.stop()


def test_each_channel_gets_one_durable_group_shared_by_every_instance():
    config = settings_module.TestingConfig().apply(
        {"BROKER_GROUP_PREFIX": "prod", "CHANNELS": ["email"]}
    )
    settings = {name: getattr(config, name) for name in dir(config) if name.isupper()}
    broker = MemoryBroker(f"memory://{uuid4().hex}")
    runners = [ChannelRunner(settings, broker, instance_id=i) for i in ("web-1", "web-2")]
    for runner in runners:
        [email] = runner.consumers
        assert (email.group, email.channel, email.durable) == ("prod-channel-email", "email", True)
