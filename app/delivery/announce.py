"""Events that are not stored: presence changes, token revocations, typing.

All are best effort and published in the background: presence is also
readable over REST, a revocation also closes this instance's sockets at once
and every socket's token is rechecked on its expiry, a typing indicator is
sent again while one types, and a lost announcement must never hold up a
socket or a request. None goes through the outbox.
"""

import logging

from app import presence
from app.auth.models import User
from app.brokers import Broker
from app.concurrency import spawn
from app.delivery import events

logger = logging.getLogger(__name__)


class Announcer:
    """Publishes this instance's presence, revocation and typing events to every instance."""

    def __init__(self, broker: Broker, *, topic: str) -> None:
        self.broker, self.topic = broker, topic

    def presence(
        self, user_id: str, *, username: str | None = None, connected: bool | None = None
    ) -> None:
        """Tell every instance's presence watchers whether `user_id` is online now.

        A caller that knows the answer (a socket just opened: online) passes it,
        which spares two queries per handshake (the presence one scans the
        collection on FerretDB).
        """
        spawn(self._announce_presence, user_id, username, connected, name="herald-presence")

    def revocation(self, user_id: str) -> None:
        """Make every instance recheck the tokens of `user_id`'s sockets."""
        payload = events.encode_revocation(user_id=user_id)
        spawn(self._publish_quietly, payload, user_id, name="herald-revocation")

    def typing(self, from_id: str, to_id: str) -> None:
        """Show `to_id`'s sockets, on every instance, that `from_id` is typing to them."""
        payload = events.encode_typing(from_id=from_id, to_id=to_id)
        spawn(self._publish_quietly, payload, to_id, name="herald-typing")

    def _announce_presence(self, user_id, username, connected):
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
