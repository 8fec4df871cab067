"""Takes each broker event to the sockets it concerns: the consumer's handler.

A notification goes to its recipient's sockets, a message and its receipt to
the sockets of the participant whose copy it is, someone typing to the sockets
of whom they type to, a change of a user's inbox to every socket of theirs
(each client orders them by `seq`), a presence change
to every socket watching presence, and a revocation makes this instance
recheck the tokens of that user's sockets (the user logged out or changed
their password on some instance).
"""

from app.auth import tokens
from app.delivery import events
from app.realtime.hub import CLOSE_POLICY_VIOLATION, SocketHub
from app.realtime.wire import Frame


class EventDispatcher:
    """`dispatcher(event)` delivers one decoded broker event to this instance's sockets."""

    def __init__(self, hub: SocketHub) -> None:
        self.hub = hub

    def __call__(self, event: events.Event) -> None:
        if isinstance(event, events.NotificationEvent):
            self.hub.deliver(event.user_id, event.notification_id, Frame(event.payload))
        elif isinstance(event, events.MessageEvent):
            self.hub.deliver(event.user_id, event.message_id, Frame(event.payload))
        elif isinstance(event, events.InboxEvent | events.ReceiptEvent | events.TypingEvent):
            self.hub.send_to_user(event.user_id, Frame(event.payload))
        elif isinstance(event, events.PresenceEvent):
            self.hub.broadcast_presence(Frame(event.payload))
        elif isinstance(event, events.RevocationEvent):
            self.close_revoked_sockets(event.user_id)

    def close_revoked_sockets(self, user_id: str) -> None:
        """Close (1008) each socket of `user_id` here whose token is revoked now."""
        for session in self.hub.sessions_of(user_id):
            if tokens.is_revoked({"sub": user_id, "type": "access", **session.claims}):
                session.close(CLOSE_POLICY_VIOLATION, "Token revoked")
