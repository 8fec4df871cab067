"""The composition root: wires and runs the background parts of one Herald instance.

After centrifuge's `Node`: the broker, the outbox relay, the event consumer, the
socket hub, the presence heartbeat and the socket upkeep are built here from
the settings and nowhere else, and connected to each other and to the signals
of the features (`app.signals`). `init_app` keeps one `Node` per app in
`app.extensions`, so two apps in one process behave as two instances; the rest
of the code reaches it through `app.extensions.current_node()`.
"""

import atexit
import functools
import logging

from flask import Flask

from app import extensions, signals
from app.audiences import service as audiences
from app.audiences.fanout import FanoutWorker
from app.auth import pictures
from app.brokers import Broker, create_broker
from app.channels import deliveries as channel_deliveries
from app.channels import preferences as channel_preferences
from app.channels.push import service as push
from app.channels.runner import ChannelRunner
from app.conversations import service as conversations
from app.delivery import outbox
from app.delivery.announce import Announcer
from app.delivery.consumer import EventConsumer
from app.delivery.relay import OutboxRelay
from app.notifications import inbox
from app.posts import service as posts
from app.realtime.dispatch import EventDispatcher
from app.realtime.heartbeat import PresenceHeartbeat, SocketUpkeep
from app.realtime.hub import SocketHub
from app.relations import service as relations

logger = logging.getLogger(__name__)

# What each domain deletes with an account (`signals.user_deleted`); a new domain
# that stores something of a user's adds its handler here.
ACCOUNT_CLEANUPS = (
    inbox.delete_inbox,
    conversations.delete_conversations_of,
    relations.delete_relations_of,
    audiences.delete_audiences_of,
    posts.delete_posts_of,
    pictures.on_user_deleted,
    push.delete_subscriptions_of,
    channel_preferences.delete_preferences_of,
    channel_deliveries.delete_deliveries_of,
)


class Node:
    """One Herald instance's background parts, built from its settings."""

    def __init__(self, config) -> None:
        self.instance_id: str = config["INSTANCE_ID"]
        topic = config["BROKER_TOPIC"]
        self.broker: Broker = create_broker(config["BROKER_URL"], **config["BROKER_OPTIONS"])
        self.hub = SocketHub()
        self.relay = OutboxRelay(
            self.broker,
            instance_id=self.instance_id,
            topic=topic,
            poll_interval=config["OUTBOX_POLL_INTERVAL"],
            orphan_after=config["OUTBOX_ORPHAN_AFTER"],
            batch_size=config["OUTBOX_BATCH_SIZE"],
            change_retention=config["INBOX_CHANGES_RETENTION"],
        )
        self.dispatcher = EventDispatcher(self.hub)
        self.consumer = EventConsumer(
            self.broker,
            self.dispatcher,
            topic=topic,
            dead_letter_topic=config["BROKER_DEAD_LETTER_TOPIC"],
            group=f"{config['BROKER_GROUP_PREFIX']}-{self.instance_id}",
            instance_id=self.instance_id,
            max_attempts=config["RETRY_MAX_ATTEMPTS"],
            base_delay=config["RETRY_BASE_DELAY"],
            settle=functools.partial(
                outbox.settle, topic=topic, timeout=config["OUTBOX_SETTLE_TIMEOUT"]
            ),
        )
        self.announce = Announcer(self.broker, topic=topic)
        self.heartbeat = PresenceHeartbeat(
            self.hub,
            instance_id=self.instance_id,
            ttl=config["PRESENCE_TTL"],
            on_swept=self.announce.presence,
        )
        self.upkeep = SocketUpkeep(
            self.hub,
            token_check_interval=config["WS_TOKEN_CHECK_INTERVAL"],
            ping_interval=config["WS_PING_INTERVAL"],
        )
        self.fanout = FanoutWorker(
            self.relay,
            instance_id=self.instance_id,
            batch_size=config["FANOUT_BATCH_SIZE"],
            lease=config["FANOUT_LEASE"],
            poll_interval=config["FANOUT_POLL_INTERVAL"],
        )
        self.consumes: bool = config["CONSUMER_ENABLED"]  # REST-only instances just publish
        # Email (and push): a durable consumer group per channel, shared cluster-wide;
        # run here when CHANNELS_ENABLED, else by `flask channels` (app/channels/cli.py).
        self.channels = ChannelRunner(config, self.broker, instance_id=self.instance_id)
        self.sends_channels: bool = config["CHANNELS_ENABLED"]
        self.started = False

    @property
    def outbox(self) -> OutboxRelay:
        """The notifications domain's `Outbox` port."""
        return self.relay

    def ready_to_deliver(self) -> bool:
        """False while a consuming instance is not subscribed (sockets would miss events)."""
        return not self.consumes or self.consumer.subscribed.is_set()

    def on_tokens_revoked(self, _app, *, user_id: str) -> None:
        """Close the user's sockets whose token was revoked, here and on every instance."""
        self.dispatcher.close_revoked_sockets(user_id)
        self.announce.revocation(user_id)

    def start(self) -> None:
        self.started = True
        self.heartbeat.start()
        self.upkeep.start()
        self.relay.start()
        self.fanout.start()
        if self.consumes:
            self.consumer.start()
        if self.sends_channels:
            self.channels.start()
        logger.info("Herald instance %s started", self.instance_id)

    def stop(self) -> None:
        self.channels.stop()  # (`flask channels` starts them without the rest)
        if not self.started:
            return
        self.started = False
        self.upkeep.stop()
        self.fanout.stop()
        self.relay.stop()
        self.consumer.stop()
        self.heartbeat.stop()
        self.broker.close()


def init_app(app: Flask) -> Node:
    """Build the app's node, connect it to the feature signals and start it."""
    node = Node(app.config)
    app.extensions[extensions.NODE] = node
    signals.tokens_revoked.connect(node.on_tokens_revoked, sender=app)
    for cleanup in ACCOUNT_CLEANUPS:
        signals.user_deleted.connect(cleanup, sender=app)
    if app.config["BACKGROUND_TASKS"]:
        node.start()
        atexit.register(node.stop)
    return node
