"""The caller's notifications in GraphQL: a Relay connection, one by id, the unread
count; marking read or unread, all read, editing, deleting and broadcasting.
Over `app.notifications.service`, as `app.notifications.routes` is."""

import base64
import binascii

import strawberry
from flask import current_app
from strawberry.scalars import JSON

from app import ratelimit
from app.errors import Unprocessable
from app.extensions import current_node
from app.graphql.context import admin, load, viewer
from app.graphql.limits import MAX_PAGE_SIZE
from app.graphql.types import Notification, NotificationConnection, NotificationEdge, PageInfo
from app.notifications import schemas, service

CURSOR_PREFIX = "notification:"


def cursor_of(notification_id: str) -> str:
    return base64.urlsafe_b64encode((CURSOR_PREFIX + notification_id).encode()).decode()


def id_of_cursor(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (binascii.Error, UnicodeError, ValueError):
        text = ""
    if not text.startswith(CURSOR_PREFIX):
        raise Unprocessable("`after` is not a cursor of this list.", errors={"after": ["Unknown."]})
    return text.removeprefix(CURSOR_PREFIX)


def _first(first: int) -> int:
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise Unprocessable(
            "The request failed validation.",
            errors={
                "first": [
                    f"Must be greater than or equal to 1 and less than or equal to {MAX_PAGE_SIZE}."
                ]
            },
        )
    return first


@strawberry.type
class NotificationQueries:
    @strawberry.field(description="The caller's notifications, newest first")
    def notifications(
        self,
        info: strawberry.Info,
        first: int = 20,
        after: str | None = None,
        read: bool | None = None,
    ) -> NotificationConnection:
        user = viewer(info)
        items, more, total = service.notifications_after(
            user_id=user.id, first=_first(first), after=id_of_cursor(after), read=read
        )
        edges = [NotificationEdge(cursor=cursor_of(n.id), node=n) for n in items]
        end = edges[-1].cursor if edges else None
        return NotificationConnection(
            edges=edges, page_info=PageInfo(has_next_page=more, end_cursor=end), total_count=total
        )

    @strawberry.field(description="One of the caller's notifications")
    def notification(self, info: strawberry.Info, id: strawberry.ID) -> Notification:
        return service.owned(user_id=viewer(info).id, notification_id=id)

    @strawberry.field(description="How many of the caller's notifications are unread")
    def unread_count(self, info: strawberry.Info) -> int:
        return service.unread_count(user_id=viewer(info).id)


@strawberry.type
class NotificationMutations:
    @strawberry.mutation(description="Mark one of the caller's notifications read")
    def mark_read(self, info: strawberry.Info, id: strawberry.ID) -> Notification:
        return _set_read(info, id, read=True)

    @strawberry.mutation(description="Mark one of the caller's notifications unread")
    def mark_unread(self, info: strawberry.Info, id: strawberry.ID) -> Notification:
        return _set_read(info, id, read=False)

    @strawberry.mutation(
        description="Mark all of the caller's notifications read (up to `upTo`); how many changed"
    )
    def mark_all_read(self, info: strawberry.Info, up_to: strawberry.ID | None = None) -> int:
        user = viewer(info)
        body = load(schemas.ReadAllSchema, {"upTo": up_to})
        return service.mark_all_read(
            user_id=user.id, up_to=body.get("up_to"), outbox=current_node().outbox
        )

    @strawberry.mutation(
        description="Delete one of the caller's notifications, or retract one they sent"
    )
    def delete_notification(self, info: strawberry.Info, id: strawberry.ID) -> bool:
        user = viewer(info)
        service.delete_notification(
            user_id=user.id,
            notification_id=id,
            is_admin=user.is_admin,
            edit_window=current_app.config["NOTIFICATION_EDIT_WINDOW"],
            outbox=current_node().outbox,
        )
        return True

    @strawberry.mutation(description="Edit a notification one sent, within the edit window")
    def edit_notification(
        self,
        info: strawberry.Info,
        id: strawberry.ID,
        message: str | None = None,
        data: JSON | None = None,
    ) -> Notification:
        user = viewer(info)
        changes = load(schemas.NotificationEditSchema, {"message": message, "data": data})
        return service.edit_notification(
            user_id=user.id,
            notification_id=id,
            changes=changes,
            is_admin=user.is_admin,
            edit_window=current_app.config["NOTIFICATION_EDIT_WINDOW"],
            outbox=current_node().outbox,
        )

    @strawberry.mutation(description="Send one message to many users, or all (admins only)")
    def broadcast(
        self,
        info: strawberry.Info,
        message: str,
        user_ids: list[strawberry.ID] | None = None,
        all: bool = False,
        type: str | None = None,
        data: JSON | None = None,
    ) -> int:
        user = admin(info)
        body = load(
            schemas.BroadcastSchema,
            {"message": message, "userIds": user_ids, "all": all, "type": type, "data": data},
        )
        ratelimit.hit(current_app, "notify_per_sender", user.id)
        return service.broadcast(
            sender_id=user.id,
            message=body["message"],
            type=body.get("type"),
            data=body.get("data"),
            user_ids=body.get("userIds"),
            all_users=body["all"],
            outbox=current_node().outbox,
        )


def _set_read(info, notification_id, *, read):
    return service.mark_read(
        user_id=viewer(info).id,
        notification_id=notification_id,
        read=read,
        outbox=current_node().outbox,
    )
