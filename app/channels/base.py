"""The channel framework: what a channel is, and the one place channels are registered.

A channel is one small class, named in `REGISTRY` by its name:

    class PushChannel(Channel):
        name = "push"

        def handle(self, event):                 # every event of BROKER_TOPIC
            notification = self.notification_of(event)   # None unless a new notification
            if notification is None or not self.allowed(notification):
                return
            send_notification(notification, notification["userId"])

    REGISTRY = {..., "push": "app.channels.push.channel:PushChannel"}

and turned on by naming it in CHANNELS (config.py). The runner
(`app.channels.runner`, built by the node) gives each enabled channel an
`app.delivery.consumer.EventConsumer` on BROKER_TOPIC in the group
`<BROKER_GROUP_PREFIX>-channel-<name>`: one group shared by every instance and
by `flask channels` processes, subscribed durable, so each notification is
handled once cluster-wide, a restart resumes where the group stopped, and a slow
channel never holds up the sockets (whose consumers are other groups).

The contract of `handle(event)`:

- it is called with every event of the stream (`app.delivery.events`):
  notifications, inbox changes, presence...; act on what concerns the channel,
  return at once for the rest;
- raising means "try again": the consumer retries with backoff
  (RETRY_BASE_DELAY, RETRY_MAX_ATTEMPTS) and then dead-letters the message with
  the channel named; the admin dead-letter API lists and replays it to this
  channel only (`?channel=<name>`);
- the same notification may come twice (a crash before the acknowledgement,
  a replay), so sending must be idempotent per notification (and device).

`start()` and `stop()` run with the node, for a channel with loops of its own
(the email channel's sender). `self.config` is the app's settings, `self.broker`
the instance's broker.
"""

import importlib
from typing import ClassVar

import orjson

from app.channels import preferences
from app.delivery import events

# name -> "module:Class", imported only when the channel is enabled.
REGISTRY = {
    "email": "app.channels.email.channel:EmailChannel",
    "push": "app.channels.push.channel:PushChannel",
}


class Channel:
    """Base class of the channels; subclasses set `name` and implement `handle`."""

    name: ClassVar[str]

    def __init__(self, config, broker, *, instance_id: str) -> None:
        self.config, self.broker, self.instance_id = config, broker, instance_id

    def handle(self, event: events.Event) -> None:
        raise NotImplementedError

    def start(self) -> None:
        """Start the channel's own loops, if it has any."""

    def stop(self) -> None:
        """Stop them."""

    @staticmethod
    def notification_of(event) -> dict | None:
        """The notification (as REST shows it) a `NotificationEvent` carries, else None."""
        if not isinstance(event, events.NotificationEvent):
            return None
        return orjson.loads(event.payload)["data"]

    def allowed(self, notification: dict) -> bool:
        """Whether the recipient's preferences let this channel carry `notification`."""
        return preferences.allows(
            notification["userId"], self.name, notification.get("type"), self.config
        )


def channel_class(name: str) -> type[Channel]:
    try:
        module_name, class_name = REGISTRY[name].split(":")
    except KeyError:
        raise ValueError(
            f"Unknown channel {name!r} in CHANNELS; use some of {sorted(REGISTRY)}"
        ) from None
    return getattr(importlib.import_module(module_name), class_name)


def group_name(prefix: str, name: str) -> str:
    """The consumer group (RabbitMQ: queue) a channel shares across every instance."""
    return f"{prefix}-channel-{name}"
