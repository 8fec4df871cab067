"""Direct messages in GraphQL: conversations, a conversation's messages, sending and
marking read. Over `app.conversations.service`, as its routes are."""

import strawberry
from flask import current_app

from app import ratelimit
from app.conversations import schemas, service
from app.extensions import current_node
from app.graphql.context import load, viewer
from app.graphql.types import (
    Conversation,
    ConversationPage,
    Message,
    MessageHistory,
    Peer,
    ReadResult,
    meta_of,
)
from app.notifications.schemas import IdempotencyHeaderSchema
from app.pagination import PageArgsSchema


def _conversation(item: dict) -> Conversation:
    return Conversation(
        id=item["id"],
        user=Peer(**item["user"]),
        last_message=item["last_message"],
        unread_count=item["unread_count"],
    )


@strawberry.type
class ConversationQueries:
    @strawberry.field(description="The caller's conversations, newest activity first")
    def conversations(
        self, info: strawberry.Info, page: int = 1, per_page: int = 20
    ) -> ConversationPage:
        user = viewer(info)
        query = load(PageArgsSchema, {"page": page, "per_page": per_page})
        items, meta = service.list_conversations(user_id=user.id, **query)
        return ConversationPage(items=[_conversation(i) for i in items], meta=meta_of(meta))

    @strawberry.field(description="Messages with a user, oldest first; page with before/after")
    def messages(
        self,
        info: strawberry.Info,
        user_id: strawberry.ID,
        before: strawberry.ID | None = None,
        after: strawberry.ID | None = None,
        limit: int = 50,
    ) -> MessageHistory:
        user = viewer(info)
        query = load(schemas.HistoryQuerySchema, {"before": before, "after": after, "limit": limit})
        items, meta = service.history(user_id=user.id, other_id=user_id, **query)
        return MessageHistory(items=items, has_older=meta["has_older"], has_newer=meta["has_newer"])


@strawberry.type
class ConversationMutations:
    @strawberry.mutation(description="Message a user; every socket of both gets it")
    def send_message(
        self,
        info: strawberry.Info,
        user_id: strawberry.ID,
        text: str,
        idempotency_key: str | None = None,
    ) -> Message:
        user = viewer(info)
        body = load(schemas.MessageCreateSchema, {"text": text})
        key = load(IdempotencyHeaderSchema, {"Idempotency-Key": idempotency_key})
        ratelimit.hit(current_app, "notify_per_sender", user.id)
        message, _ = service.send_message(
            sender_id=user.id,
            recipient_id=user_id,
            text=body["text"],
            idempotency_key=key.get("idempotency_key"),
            key_ttl=current_app.config["IDEMPOTENCY_KEY_TTL"],
            outbox=current_node().outbox,
        )
        return message

    @strawberry.mutation(description="Mark the messages from a user read up to `upTo`")
    def mark_conversation_read(
        self, info: strawberry.Info, user_id: strawberry.ID, up_to: strawberry.ID
    ) -> ReadResult:
        user = viewer(info)
        body = load(schemas.ReadSchema, {"upTo": up_to})
        count, newest = service.mark_read(
            user_id=user.id, other_id=user_id, up_to=body["up_to"], outbox=current_node().outbox
        )
        return ReadResult(count=count, up_to=newest.id if newest else None)
