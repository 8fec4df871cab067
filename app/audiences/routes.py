"""Topic and fan-out endpoints, and `POST /api/notifications`: thin views over
`app.audiences.service` and `app.notifications.service`.

Notifying lives here because it addresses a user, a topic or a user's
followers, and audiences build on notifications (never the other way).
"""

from flask import current_app, jsonify, url_for
from flask.views import MethodView
from flask_jwt_extended import current_user

from app import ratelimit
from app.audiences import schemas, service
from app.errors import ErrorSchema
from app.extensions import current_node
from app.notifications.schemas import (
    CountSchema,
    IdempotencyHeaderSchema,
    NotificationCreateSchema,
    NotificationSchema,
)
from app.pagination import PageArgsSchema, page_schema
from app.security import Blueprint

blp = Blueprint("audiences", __name__, url_prefix="/api", description="Topics and fan-outs")
TopicPageSchema = page_schema(schemas.TopicSchema)
SubscriberPageSchema = page_schema(schemas.SubscriberSchema)


@blp.route("/notifications")
class Notify(MethodView):
    @blp.authenticated
    @blp.arguments(NotificationCreateSchema)
    @blp.arguments(IdempotencyHeaderSchema, location="headers")
    @blp.response(201, NotificationSchema)
    @blp.alt_response(
        202,
        schema=schemas.FanoutSchema,
        description="To an audience: the fan-out job (a small audience is written "
        "before the answer, `state` done; a larger one in the background)",
        headers={"Location": {"description": "The job", "schema": {"type": "string"}}},
    )
    @blp.alt_response(403, schema=ErrorSchema, description="Blocked, or not the audience's owner")
    @blp.alt_response(404, schema=ErrorSchema, description="No such recipient or topic")
    @blp.alt_response(429, schema=ErrorSchema, description="Sending too fast")
    def post(self, body, headers):
        """Notify a user (`userId`), a topic's subscribers or a user's followers"""
        ratelimit.hit(current_app, "notify_per_sender", current_user.id)
        node, config = current_node(), current_app.config
        notification, replayed, job = service.notify(
            sender_id=current_user.id,
            is_admin=current_user.is_admin,
            body=body,
            idempotency_key=headers.get("idempotency_key"),
            key_ttl=config["IDEMPOTENCY_KEY_TTL"],
            outbox=node.outbox,
            worker=node.fanout,
            sync_limit=config["FANOUT_SYNC_LIMIT"],
            batch_size=config["FANOUT_BATCH_SIZE"],
        )
        if job is None:
            if replayed:
                return notification, 201, {"Idempotent-Replayed": "true"}
            return notification
        # A response of its own: the view's schema (201) is the notification's.
        response = jsonify(schemas.FanoutSchema().dump(service.job_view(job, node.outbox)))
        response.status_code = 202
        response.headers["Location"] = url_for("audiences.Fanout", job_id=job.id)
        return response


@blp.route("/topics")
class Topics(MethodView):
    @blp.authenticated
    @blp.arguments(schemas.TopicQuerySchema, location="query")
    @blp.response(200, TopicPageSchema)
    def get(self, query):
        """Every topic, with its subscriber count and whether the caller is subscribed"""
        items, meta = service.list_topics(viewer_id=current_user.id, **query)
        return {"items": items, "meta": meta}

    @blp.authenticated
    @blp.arguments(schemas.TopicCreateSchema)
    @blp.response(201, schemas.TopicSchema)
    @blp.alt_response(409, schema=ErrorSchema, description="The key is taken")
    def post(self, body):
        """Create a topic; the caller owns it"""
        return service.create_topic(owner_id=current_user.id, **body)


@blp.route("/topics/<key>")
class TopicItem(MethodView):
    @blp.authenticated
    @blp.response(204)
    @blp.alt_response(403, schema=ErrorSchema, description="Not its owner")
    @blp.alt_response(404, schema=ErrorSchema, description="No such topic")
    def delete(self, key):
        """Delete a topic and its subscriptions (its owner or an admin)"""
        service.delete_topic(key=key, user_id=current_user.id, is_admin=current_user.is_admin)


@blp.route("/topics/<key>/subscription")
class OwnSubscription(MethodView):
    @blp.authenticated
    @blp.response(204)
    @blp.alt_response(404, schema=ErrorSchema, description="No such topic")
    def put(self, key):
        """Subscribe to a topic (idempotent)"""
        service.subscribe(key=key, user_id=current_user.id)

    @blp.authenticated
    @blp.response(204)
    @blp.alt_response(404, schema=ErrorSchema, description="No such topic")
    def delete(self, key):
        """Leave a topic (idempotent)"""
        service.unsubscribe(key=key, user_id=current_user.id)


@blp.route("/topics/<key>/subscribers")
class Subscribers(MethodView):
    @blp.authenticated
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, SubscriberPageSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="Not its owner")
    @blp.alt_response(404, schema=ErrorSchema, description="No such topic")
    def get(self, query, key):
        """A topic's subscribers, newest first (its owner or an admin)"""
        items, meta = service.subscribers(
            key=key, user_id=current_user.id, is_admin=current_user.is_admin, **query
        )
        return {"items": items, "meta": meta}

    @blp.authenticated
    @blp.arguments(schemas.UserIdsSchema)
    @blp.response(200, CountSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="Not its owner")
    @blp.alt_response(404, schema=ErrorSchema, description="No such topic or user")
    def post(self, body, key):
        """Subscribe users to a topic (its owner or an admin); returns how many were new"""
        count = service.add_subscribers(
            key=key, user_id=current_user.id, is_admin=current_user.is_admin, **body
        )
        return {"count": count}

    @blp.authenticated
    @blp.arguments(schemas.UserIdsSchema)
    @blp.response(200, CountSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="Not its owner")
    @blp.alt_response(404, schema=ErrorSchema, description="No such topic")
    def delete(self, body, key):
        """Remove subscribers from a topic (its owner or an admin); returns how many"""
        count = service.remove_subscribers(
            key=key, user_id=current_user.id, is_admin=current_user.is_admin, **body
        )
        return {"count": count}


@blp.route("/fanouts/<job_id>")
class Fanout(MethodView):
    @blp.authenticated
    @blp.response(200, schemas.FanoutSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="Not the caller's")
    def get(self, job_id):
        """How far a notification to an audience got (its sender or an admin)"""
        user = current_user
        return service.job_of(
            job_id=job_id, user_id=user.id, is_admin=user.is_admin, outbox=current_node().outbox
        )
