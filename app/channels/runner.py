"""Runs the enabled channels: a durable, cluster-wide consumer each, and their own loops.

Built by the node (`app.node`) for every instance; started with it when
CHANNELS_ENABLED is on, or by `flask channels` in a process of its own.
"""

import logging

from app.channels.base import Channel, channel_class, group_name
from app.delivery.consumer import EventConsumer

logger = logging.getLogger(__name__)


class ChannelRunner:
    def __init__(self, config, broker, *, instance_id: str) -> None:
        names = [name for name in config["CHANNELS"] if name]
        self.channels: list[Channel] = [
            channel_class(name)(config, broker, instance_id=instance_id) for name in names
        ]
        self.consumers = [
            EventConsumer(
                broker,
                channel.handle,
                topic=config["BROKER_TOPIC"],
                dead_letter_topic=config["BROKER_DEAD_LETTER_TOPIC"],
                group=group_name(config["BROKER_GROUP_PREFIX"], channel.name),
                instance_id=instance_id,
                max_attempts=config["RETRY_MAX_ATTEMPTS"],
                base_delay=config["RETRY_BASE_DELAY"],
                channel=channel.name,
                durable=True,
            )
            for channel in self.channels
        ]
        self.running = False

    def start(self) -> None:
        if self.running:
            return
        self.running = True
        for consumer in self.consumers:
            consumer.start()
        for channel in self.channels:
            channel.start()
        logger.info("Channels running: %s", ", ".join(c.name for c in self.channels) or "none")

    def stop(self) -> None:
        if not self.running:
            return
        self.running = False
        for channel in self.channels:
            channel.stop()
        for consumer in self.consumers:
            consumer.stop()
