"""Follows, blocks and posts in GraphQL, over `app.relations.service` and
`app.posts.service`, as their routes are."""

import strawberry
from flask import current_app

from app import ratelimit
from app.extensions import current_node
from app.graphql.context import load, viewer
from app.graphql.types import Post, PostPage, RelatedUserPage, meta_of, record
from app.pagination import PageArgsSchema
from app.posts import service as posts
from app.posts.routes import PostCreateSchema, PostQuerySchema
from app.relations import service as relations


def _page(page, per_page):
    return load(PageArgsSchema, {"page": page, "per_page": per_page})


def _related(result) -> RelatedUserPage:
    items, meta = result
    return RelatedUserPage(items=[record(item) for item in items], meta=meta_of(meta))


@strawberry.type
class SocialQueries:
    @strawberry.field(description="Who follows a user, newest first")
    def followers(
        self, info: strawberry.Info, user_id: strawberry.ID, page: int = 1, per_page: int = 20
    ) -> RelatedUserPage:
        viewer(info)
        return _related(relations.followers(user_id=user_id, **_page(page, per_page)))

    @strawberry.field(description="Whom a user follows, newest first")
    def following(
        self, info: strawberry.Info, user_id: strawberry.ID, page: int = 1, per_page: int = 20
    ) -> RelatedUserPage:
        viewer(info)
        return _related(relations.following(user_id=user_id, **_page(page, per_page)))

    @strawberry.field(description="The ids of the users the caller blocked, newest first")
    def blocked_users(
        self, info: strawberry.Info, page: int = 1, per_page: int = 20
    ) -> list[strawberry.ID]:
        blocks, _ = relations.blocked_by(user_id=viewer(info).id, **_page(page, per_page))
        return [block.blocked for block in blocks]

    @strawberry.field(description="Posts, newest first; by an author and/or with words")
    def posts(
        self,
        info: strawberry.Info,
        page: int = 1,
        per_page: int = 20,
        author: strawberry.ID | None = None,
        q: str | None = None,
    ) -> PostPage:
        viewer(info)
        query = load(
            PostQuerySchema, {"page": page, "per_page": per_page, "author": author, "q": q}
        )
        items, meta = posts.search(**query)
        return PostPage(items=items, meta=meta_of(meta))

    @strawberry.field(description="One post")
    def post(self, info: strawberry.Info, id: strawberry.ID) -> Post:
        viewer(info)
        return posts.get(post_id=id)


@strawberry.type
class SocialMutations:
    @strawberry.mutation(description="Follow a user (idempotent)")
    def follow(self, info: strawberry.Info, user_id: strawberry.ID) -> bool:
        relations.follow(follower_id=viewer(info).id, followed_id=user_id)
        return True

    @strawberry.mutation(description="Stop following a user (idempotent)")
    def unfollow(self, info: strawberry.Info, user_id: strawberry.ID) -> bool:
        relations.unfollow(follower_id=viewer(info).id, followed_id=user_id)
        return True

    @strawberry.mutation(description="Block a user: nothing of theirs reaches the caller")
    def block(self, info: strawberry.Info, user_id: strawberry.ID) -> bool:
        relations.block(blocker_id=viewer(info).id, blocked_id=user_id)
        return True

    @strawberry.mutation(description="Unblock a user (idempotent)")
    def unblock(self, info: strawberry.Info, user_id: strawberry.ID) -> bool:
        relations.unblock(blocker_id=viewer(info).id, blocked_id=user_id)
        return True

    @strawberry.mutation(description="Publish a post; every follower is notified (type `post`)")
    def create_post(self, info: strawberry.Info, text: str) -> Post:
        user = viewer(info)
        body = load(PostCreateSchema, {"text": text})
        ratelimit.hit(current_app, "notify_per_sender", user.id)
        node, config = current_node(), current_app.config
        return posts.publish(
            author_id=user.id,
            text=body["text"],
            outbox=node.outbox,
            worker=node.fanout,
            sync_limit=config["FANOUT_SYNC_LIMIT"],
            batch_size=config["FANOUT_BATCH_SIZE"],
        )

    @strawberry.mutation(description="Delete one's own post (admins: any)")
    def delete_post(self, info: strawberry.Info, id: strawberry.ID) -> bool:
        user = viewer(info)
        posts.delete(post_id=id, user_id=user.id, is_admin=user.is_admin)
        return True
