"""The admins' dead letters in GraphQL: list them, replay one or all (of a channel).
Over `app.delivery.dead_letters`, as `app.delivery.routes` is."""

from datetime import datetime

import strawberry

from app.delivery import dead_letters
from app.delivery.routes import ChannelQuerySchema, DeadLetterQuerySchema
from app.extensions import current_node
from app.graphql.context import admin, load
from app.graphql.types import PageMeta, meta_of


@strawberry.type(description="A message no consumer could handle, kept for an admin")
class DeadLetter:
    id: strawberry.ID
    channel: str
    topic: str
    key: str | None
    payload: str = strawberry.field(description="The message as received, base64")
    error: str
    attempts: int
    instance_id: str | None
    created_at: datetime
    replayed_at: datetime | None


@strawberry.type
class DeadLetterPage:
    items: list[DeadLetter]
    meta: PageMeta


def _letter(letter) -> DeadLetter:
    return DeadLetter(
        id=letter.id,
        channel=letter.channel or dead_letters.SOCKET,
        topic=letter.topic,
        key=letter.key,
        payload=letter.payload,  # stored base64, as REST shows it
        error=letter.error,
        attempts=letter.attempts,
        instance_id=letter.instance_id,
        created_at=letter.created_at,
        replayed_at=letter.replayed_at,
    )


@strawberry.type
class DeadLetterQueries:
    @strawberry.field(description="Dead letters, newest first (admins only)")
    def dead_letters(
        self,
        info: strawberry.Info,
        page: int = 1,
        per_page: int = 20,
        replayed: bool | None = None,
        channel: str | None = None,
    ) -> DeadLetterPage:
        admin(info)
        query = load(
            DeadLetterQuerySchema,
            {"page": page, "per_page": per_page, "replayed": replayed, "channel": channel},
        )
        items, meta = dead_letters.list_dead_letters(**query)
        return DeadLetterPage(items=[_letter(item) for item in items], meta=meta_of(meta))


@strawberry.type
class DeadLetterMutations:
    @strawberry.mutation(description="Publish one dead letter again (admins only)")
    def replay_dead_letter(self, info: strawberry.Info, id: strawberry.ID) -> DeadLetter:
        admin(info)
        return _letter(dead_letters.replay(broker=current_node().broker, letter_id=id))

    @strawberry.mutation(
        description="Replay every dead letter (of one channel) not replayed yet; how many"
    )
    def replay_dead_letters(self, info: strawberry.Info, channel: str | None = None) -> int:
        admin(info)
        query = load(ChannelQuerySchema, {"channel": channel})
        return dead_letters.replay_all(broker=current_node().broker, **query)
