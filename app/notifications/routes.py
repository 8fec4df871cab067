"""Notification endpoints: thin views over `app.notifications.service`.

`POST /api/notifications` is `app.audiences.routes`'s: it addresses a user, a
topic or a user's followers, and audiences build on notifications, not back.
"""

from flask import current_app
from flask.views import MethodView
from flask_jwt_extended import current_user

from app import ratelimit
from app.errors import ErrorSchema
from app.extensions import current_node
from app.notifications import schemas, service
from app.security import Blueprint

blp = Blueprint(
    "notifications", __name__, url_prefix="/api/notifications", description="Notifications"
)


@blp.route("")
class Notifications(MethodView):
    @blp.authenticated
    @blp.arguments(schemas.NotificationQuerySchema, location="query")
    @blp.response(200, schemas.NotificationPageSchema)
    def get(self, query):
        """The caller's notifications, newest first"""
        items, meta = service.list_notifications(user_id=current_user.id, **query)
        return {"items": items, "meta": meta}


@blp.route("/broadcast")
class Broadcast(MethodView):
    @blp.admin_only
    @blp.arguments(schemas.BroadcastSchema)
    @blp.response(201, schemas.BroadcastResultSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="Some recipients do not exist")
    @blp.alt_response(429, schema=ErrorSchema, description="Sending too fast")
    def post(self, body):
        """Send one message to many users, or to all (admins only)"""
        ratelimit.hit(current_app, "notify_per_sender", current_user.id)
        count = service.broadcast(
            sender_id=current_user.id,
            message=body["message"],
            type=body.get("type"),
            data=body.get("data"),
            user_ids=body.get("userIds"),
            all_users=body["all"],
            outbox=current_node().outbox,
        )
        return {"count": count}


@blp.route("/unread-count")
class UnreadCount(MethodView):
    @blp.authenticated
    @blp.response(200, schemas.CountSchema)
    def get(self):
        """How many of the caller's notifications are unread"""
        return {"count": service.unread_count(user_id=current_user.id)}


@blp.route("/read-all")
class ReadAll(MethodView):
    @blp.authenticated
    @blp.arguments(schemas.ReadAllSchema, required=False)
    @blp.response(200, schemas.CountSchema)
    def post(self, body):
        """Mark all of the caller's notifications read; returns how many changed

        Every socket of the caller gets `notifications.read_all`.
        """
        count = service.mark_all_read(
            user_id=current_user.id, up_to=body.get("up_to"), outbox=current_node().outbox
        )
        return {"count": count}


@blp.route("/<notification_id>")
class NotificationItem(MethodView):
    @blp.authenticated
    @blp.response(200, schemas.NotificationSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="Not one of the caller's")
    def get(self, notification_id):
        """One of the caller's notifications"""
        return service.owned(user_id=current_user.id, notification_id=notification_id)

    @blp.authenticated
    @blp.arguments(schemas.MarkReadSchema, required=False)
    @blp.response(200, schemas.NotificationSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="Not one of the caller's")
    def put(self, body, notification_id):
        """Mark a notification read (idempotent); `{"read": false}` marks it unread

        Every socket of the caller gets `notification.updated`.
        """
        return service.mark_read(
            user_id=current_user.id,
            notification_id=notification_id,
            read=body["read"],
            outbox=current_node().outbox,
        )

    @blp.authenticated
    @blp.arguments(schemas.NotificationEditSchema)
    @blp.response(200, schemas.NotificationSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="Not its sender, or too late")
    @blp.alt_response(404, schema=ErrorSchema, description="Not sent to or by the caller")
    def patch(self, body, notification_id):
        """Edit a notification one sent (admins: any), within NOTIFICATION_EDIT_WINDOW

        The recipient's sockets get `notification.updated`, with `editedAt` set.
        """
        return service.edit_notification(
            user_id=current_user.id,
            notification_id=notification_id,
            changes=body,
            is_admin=current_user.is_admin,
            edit_window=current_app.config["NOTIFICATION_EDIT_WINDOW"],
            outbox=current_node().outbox,
        )

    @blp.authenticated
    @blp.response(204)
    @blp.alt_response(403, schema=ErrorSchema, description="A retraction too late")
    @blp.alt_response(404, schema=ErrorSchema, description="Not sent to or by the caller")
    def delete(self, notification_id):
        """Delete one of the caller's notifications, or retract one they sent

        A recipient deletes from their own inbox at any time; a sender (admins:
        any) retracts within NOTIFICATION_EDIT_WINDOW. Either way the recipient's
        sockets get `notification.deleted`.
        """
        service.delete_notification(
            user_id=current_user.id,
            notification_id=notification_id,
            is_admin=current_user.is_admin,
            edit_window=current_app.config["NOTIFICATION_EDIT_WINDOW"],
            outbox=current_node().outbox,
        )
