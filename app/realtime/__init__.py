"""Realtime delivery: the broker, the outbox relay, the consumer, the hub and presence.

`init_app` builds one `Realtime` per app and keeps it in `app.extensions`, so two
apps in one process behave as two instances.
"""

import atexit
import logging
import time

from app.brokers import create_broker
from app.concurrency import spawn
from app.notifications import events, outbox
from app.realtime import presence, wire
from app.realtime.hub import CLOSE_POLICY_VIOLATION

logger = logging.getLogger(__name__)
EXTENSION = "herald.realtime"


class Realtime:
    """The background parts of one Herald instance."""

    def __init__(self, config):
        from app.realtime.consumer import NotificationConsumer
        from app.realtime.heartbeat import PresenceHeartbeat
        from app.realtime.hub import NotificationHub

        self.instance_id = config["INSTANCE_ID"]
        self.broker = create_broker(config["BROKER_URL"], **config.get("BROKER_OPTIONS", {}))
        self.hub = NotificationHub()
        self.relay = outbox.OutboxRelay(
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
            settle=self._settle,
        )
        self.settle_timeout = config["OUTBOX_SETTLE_TIMEOUT"]
        self.topic, self.presence_ttl = config["BROKER_TOPIC"], config["PRESENCE_TTL"]
        self.token_check_interval = config["WS_TOKEN_CHECK_INTERVAL"]
        self.ping_interval = config["WS_PING_INTERVAL"]
        self.heartbeat = PresenceHeartbeat(
            self.hub,
            instance_id=self.instance_id,
            ttl=self.presence_ttl,
            on_swept=self.announce_presence,
        )
        self.consume = config["CONSUMER_ENABLED"]  # REST-only instances just publish
        self.started = False

    def deliver(self, event):
        if isinstance(event, events.NotificationEvent):
            self.hub.deliver(event.user_id, event.notification_id, wire.Frame(event.payload))
        elif isinstance(event, events.PresenceEvent):
            self.hub.broadcast_presence(wire.Frame(event.payload))
        elif isinstance(event, events.RevocationEvent):
            self.close_revoked_sockets(event.user_id)

    def announce_revocation(self, user_id):
        """Close the user's sockets whose token was revoked, here and on every instance."""
        self.close_revoked_sockets(user_id)
        payload = events.encode_revocation(user_id=user_id)
        spawn(self._publish_quietly, payload, user_id, name="herald-revocation")

    def close_revoked_sockets(self, user_id):
        from app.auth import tokens

        for session in self.hub.sessions_of(user_id):
            if tokens.is_revoked({"sub": user_id, "type": "access", **session.claims}):
                session.close(CLOSE_POLICY_VIOLATION, "Token revoked")

    def _watch_token_expiry(self):
        while self.started:
            self.hub.close_expired(time.time())
            time.sleep(self.token_check_interval)

    def _ping_sockets(self):
        while self.started:
            time.sleep(self.ping_interval)
            if closed := self.hub.ping_all():
                logger.info("Closed %d sockets whose clients stopped answering pings", closed)

    def announce_presence(self, user_id, *, username=None, connected=None):
        """Tell every instance's presence watchers whether `user_id` is online now.

        Best effort and in the background: presence is also readable over REST,
        and a lost announcement must never hold up a socket. A caller that knows
        the answer (a socket just opened: online) passes it, which spares two
        queries per handshake (the presence one scans the collection on FerretDB).
        """
        spawn(self._announce, user_id, username, connected, name="herald-presence")

    def _announce(self, user_id, username=None, connected=None):
        from app.auth.models import User

        try:
            if username is None:
                user = User.objects(id=user_id).only("username").first()
                if user is None:
                    return
                username = user.username
            if connected is None:
                connected = presence.is_online(user_id)
            payload = events.encode_presence(
                user_id=user_id, username=username, connected=connected
            )
        except Exception as error:
            logger.warning("Presence of %s not announced: %s", user_id, error)
            return
        self._publish_quietly(payload, user_id)

    def _publish_quietly(self, payload, user_id):
        try:
            self.broker.publish(self.topic, payload, key=user_id)
        except self.broker.connection_errors as error:
            logger.warning("An event for %s was not published: %s", user_id, error)

    def _settle(self, boundary):
        # Only this topic's entries can reach this consumer.
        waiting = {"id__lt": boundary, **outbox.of_topic(self.topic)}
        if not outbox.wait_until_relayed(self.settle_timeout, **waiting):
            logger.warning(
                "Accepting sockets although notifications older than the consumer's "
                "subscription are still in the outbox after %.1fs; a client resuming "
                "right now may not get them over its socket (they stay in its list)",
                self.settle_timeout,
            )

    def start(self):
        self.started = True
        self.heartbeat.start()
        spawn(self._watch_token_expiry, name="herald-token-expiry")
        if self.ping_interval:
            spawn(self._ping_sockets, name="herald-pinger")
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
