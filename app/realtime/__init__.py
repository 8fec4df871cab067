"""Realtime delivery: the broker, the outbox relay, the consumer, the hub and presence.

`init_app` builds one `Realtime` per app and keeps it in `app.extensions`, so two
apps in one process behave as two instances.
"""

import atexit
import logging

from app.brokers import create_broker

logger = logging.getLogger(__name__)
EXTENSION = "herald.realtime"


class Realtime:
    """The background parts of one Herald instance."""

    def __init__(self, config):
        from app.notifications.outbox import OutboxRelay
        from app.realtime.consumer import NotificationConsumer
        from app.realtime.heartbeat import PresenceHeartbeat
        from app.realtime.hub import NotificationHub

        self.instance_id = config["INSTANCE_ID"]
        self.broker = create_broker(config["BROKER_URL"], **config.get("BROKER_OPTIONS", {}))
        self.hub = NotificationHub()
        self.relay = OutboxRelay(
            self.broker,
            instance_id=self.instance_id,
            topic=config["BROKER_TOPIC"],
            poll_interval=config["OUTBOX_POLL_INTERVAL"],
            orphan_after=config["OUTBOX_ORPHAN_AFTER"],
            batch_size=config["OUTBOX_BATCH_SIZE"],
        )
        self.consumer = NotificationConsumer(
            self.broker,
            self.deliver,
            topic=config["BROKER_TOPIC"],
            dead_letter_topic=config["BROKER_DEAD_LETTER_TOPIC"],
            group=f"{config['BROKER_GROUP_PREFIX']}-{self.instance_id}",
            instance_id=self.instance_id,
            max_attempts=config["RETRY_MAX_ATTEMPTS"],
            base_delay=config["RETRY_BASE_DELAY"],
        )
        self.heartbeat = PresenceHeartbeat(
            self.hub, instance_id=self.instance_id, ttl=config["PRESENCE_TTL"]
        )
        self.consume = config["CONSUMER_ENABLED"]  # REST-only instances just publish
        self.started = False

    def deliver(self, event):
        self.hub.deliver(event.user_id, event.notification_id, event.frame)

    def start(self):
        self.started = True
        self.heartbeat.start()
        self.relay.start()
        if self.consume:
            self.consumer.start()
        logger.info("Herald instance %s started", self.instance_id)

    def stop(self):
        if not self.started:
            return
        self.started = False
        self.relay.stop()
        self.consumer.stop()
        self.heartbeat.stop()
        self.broker.close()


def init_app(app):
    realtime = Realtime(app.config)
    app.extensions[EXTENSION] = realtime
    if app.config.get("BACKGROUND_TASKS", True):
        realtime.start()
        atexit.register(realtime.stop)
    return realtime


def runtime_of(app):
    """The `Realtime` of `app`."""
    return app.extensions[EXTENSION]
