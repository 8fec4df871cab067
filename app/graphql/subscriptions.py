"""The subscription fields: what a graphql-transport-ws client can subscribe to.

Herald executes them itself (`app.graphql.transport_ws`): each event the hub
delivers to a connection becomes the root value its subscription's selection
set is executed against, so the resolvers here only declare the fields;
strawberry's own (asyncio) subscription runner is never used.
"""

from collections.abc import AsyncGenerator

import strawberry

from app.graphql.types import InboxChange, Message, Notification, Presence

#: The subscription field fed by each kind of hub frame (`app.realtime.protocol`).
FIELD_OF_FRAME = {
    "notification": "notificationAdded",
    "message": "messageAdded",
    "presence": "presenceChanged",
    "notification.updated": "inboxChanged",
    "notification.deleted": "inboxChanged",
    "notifications.read_all": "inboxChanged",
}


async def _declared_only():  # pragma: no cover - see the module docstring
    return
    yield


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Each new notification of the caller; with `since` (a notification id) "
        "first those after it, oldest first, then live ones, none twice"
    )
    def notification_added(
        self, since: strawberry.ID | None = None
    ) -> AsyncGenerator[Notification, None]:
        return _declared_only()

    @strawberry.subscription(description="Each message to or from the caller; `since` resumes")
    def message_added(self, since: strawberry.ID | None = None) -> AsyncGenerator[Message, None]:
        return _declared_only()

    @strawberry.subscription(
        description="Each change of the caller's inbox (read, unread, edited, deleted, all "
        "read) made anywhere; order them by `inbox.seq`"
    )
    def inbox_changed(self) -> AsyncGenerator[InboxChange, None]:
        return _declared_only()

    @strawberry.subscription(description="Each time a user comes online or goes offline")
    def presence_changed(self) -> AsyncGenerator[Presence, None]:
        return _declared_only()
