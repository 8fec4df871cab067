"""Notifying and topics in GraphQL: `createNotification` to a user, a topic or a user's
followers (as `POST /api/notifications`), topics and their subscriptions.
Over `app.audiences.service` and `app.notifications.service`."""

import strawberry
from flask import current_app
from strawberry.scalars import JSON

from app import ratelimit
from app.audiences import schemas, service
from app.extensions import current_node
from app.graphql.context import load, viewer
from app.graphql.types import Fanout, NotifyResult, Topic, TopicPage, meta_of, record
from app.notifications.schemas import IdempotencyHeaderSchema, NotificationCreateSchema


@strawberry.type
class AudienceQueries:
    @strawberry.field(description="Every topic, with its subscriber count")
    def topics(
        self,
        info: strawberry.Info,
        page: int = 1,
        per_page: int = 20,
        subscribed: bool | None = None,
    ) -> TopicPage:
        user = viewer(info)
        query = load(
            schemas.TopicQuerySchema,
            {"page": page, "per_page": per_page, "subscribed": subscribed},
        )
        items, meta = service.list_topics(viewer_id=user.id, **query)
        return TopicPage(items=[record(t) for t in items], meta=meta_of(meta))

    @strawberry.field(description="How far a notification to an audience got")
    def fanout(self, info: strawberry.Info, id: strawberry.ID) -> Fanout:
        user = viewer(info)
        return record(
            service.job_of(
                job_id=id, user_id=user.id, is_admin=user.is_admin, outbox=current_node().outbox
            )
        )


@strawberry.type
class AudienceMutations:
    @strawberry.mutation(
        description="Notify a user (`userId`), a topic's subscribers or a user's followers"
    )
    def create_notification(
        self,
        info: strawberry.Info,
        message: str,
        user_id: strawberry.ID | None = None,
        topic: str | None = None,
        followers_of: strawberry.ID | None = None,
        include_sender: bool = False,
        type: str | None = None,
        data: JSON | None = None,
        idempotency_key: str | None = None,
    ) -> NotifyResult:
        user = viewer(info)
        body = load(
            NotificationCreateSchema,
            {
                "message": message,
                "userId": user_id,
                "topic": topic,
                "followersOf": followers_of,
                "includeSender": include_sender,
                "type": type,
                "data": data,
            },
        )
        key = load(IdempotencyHeaderSchema, {"Idempotency-Key": idempotency_key})
        ratelimit.hit(current_app, "notify_per_sender", user.id)
        node, config = current_node(), current_app.config
        notification, replayed, job = service.notify(
            sender_id=user.id,
            is_admin=user.is_admin,
            body=body,
            idempotency_key=key.get("idempotency_key"),
            key_ttl=config["IDEMPOTENCY_KEY_TTL"],
            outbox=node.outbox,
            worker=node.fanout,
            sync_limit=config["FANOUT_SYNC_LIMIT"],
            batch_size=config["FANOUT_BATCH_SIZE"],
        )
        if job is None:
            return NotifyResult(notification=notification, replayed=replayed)
        return NotifyResult(fanout=record(service.job_view(job, node.outbox)))

    @strawberry.mutation(description="Create a topic; the caller owns it")
    def create_topic(self, info: strawberry.Info, key: str, name: str) -> Topic:
        user = viewer(info)
        body = load(schemas.TopicCreateSchema, {"key": key, "name": name})
        return record(service.create_topic(owner_id=user.id, **body))

    @strawberry.mutation(description="Delete a topic and its subscriptions (owner or admin)")
    def delete_topic(self, info: strawberry.Info, key: str) -> bool:
        user = viewer(info)
        service.delete_topic(key=key, user_id=user.id, is_admin=user.is_admin)
        return True

    @strawberry.mutation(description="Subscribe to a topic (idempotent)")
    def subscribe_topic(self, info: strawberry.Info, key: str) -> bool:
        service.subscribe(key=key, user_id=viewer(info).id)
        return True

    @strawberry.mutation(description="Leave a topic (idempotent)")
    def unsubscribe_topic(self, info: strawberry.Info, key: str) -> bool:
        service.unsubscribe(key=key, user_id=viewer(info).id)
        return True
