"""The GraphQL object types: what REST's response schemas show, under the same names.

Resolvers return the service's own results (documents, or the dicts of its
`*_view` functions, wrapped by `record`); strawberry reads their attributes.
"""

from datetime import datetime
from types import SimpleNamespace

import strawberry
from strawberry.scalars import JSON

from app.auth.models import User as UserModel


def record(view: dict) -> SimpleNamespace:
    """A service's dict view as an object whose attributes strawberry can read."""
    return SimpleNamespace(**view)


@strawberry.type(description="An account; `email` and `role` only for oneself and admins")
class User:
    id: strawberry.ID
    username: str
    email: str | None
    role: str | None
    connected: bool = strawberry.field(description="Has a live socket on any instance")
    created_at: datetime
    display_name: str | None
    bio: str
    picture_url: str | None


def user_of(view: dict, *, private: bool) -> SimpleNamespace:
    """A `user_view` dict; without `private`, its email and role are hidden (as in REST)."""
    if not private:
        view = {**view, "email": None, "role": None}
    return record(view)


@strawberry.type
class Tokens:
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int


@strawberry.type
class Notification:
    id: strawberry.ID
    user_id: strawberry.ID
    sender_id: strawberry.ID
    message: str
    type: str | None
    data: JSON | None
    read: bool
    read_at: datetime | None
    created_at: datetime
    edited_at: datetime | None

    @strawberry.field(description="Who sent it (null once their account is deleted)")
    def sender(self) -> User | None:
        from app.auth import service

        user = UserModel.by_id(self.sender_id)
        return user_of(service.user_view(user, online=False), private=False) if user else None


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class NotificationEdge:
    cursor: str
    node: Notification


@strawberry.type(description="A page of the caller's notifications, newest first")
class NotificationConnection:
    edges: list[NotificationEdge]
    page_info: PageInfo
    total_count: int


@strawberry.type
class PageMeta:
    page: int
    per_page: int
    total: int
    total_pages: int


def meta_of(meta: dict) -> PageMeta:
    return PageMeta(
        page=meta["page"],
        per_page=meta["perPage"],
        total=meta["total"],
        total_pages=meta["totalPages"],
    )


@strawberry.type
class UserPage:
    items: list[User]
    meta: PageMeta


@strawberry.type
class Topic:
    key: str
    name: str
    owner_id: strawberry.ID
    created_at: datetime
    subscriber_count: int
    subscribed: bool = strawberry.field(description="The caller is")


@strawberry.type
class TopicPage:
    items: list[Topic]
    meta: PageMeta


@strawberry.type(description="One notification to an audience, and how far it got")
class Fanout:
    id: strawberry.ID
    audience: str
    audience_ref: str
    state: str
    total: int
    written: int
    delivered: int
    created_at: datetime
    finished_at: datetime | None


@strawberry.type(description="Exactly one of `notification` (to a user) or `fanout`")
class NotifyResult:
    notification: Notification | None = None
    fanout: Fanout | None = None
    replayed: bool = strawberry.field(
        default=False, description="An earlier request with the same idempotency key"
    )


@strawberry.type
class RelatedUser:
    id: strawberry.ID
    username: str
    since: datetime


@strawberry.type
class RelatedUserPage:
    items: list[RelatedUser]
    meta: PageMeta


@strawberry.type
class Profile:
    id: strawberry.ID
    username: str
    followers_count: int
    following_count: int
    followed_by_me: bool


@strawberry.type
class Post:
    id: strawberry.ID
    author_id: strawberry.ID
    text: str
    created_at: datetime
    fanout_id: str | None

    @strawberry.field(description="The author's username")
    def author_name(self) -> str | None:
        author = UserModel.by_id(self.author_id)
        return author.username if author else None


@strawberry.type
class PostPage:
    items: list[Post]
    meta: PageMeta


@strawberry.type
class Message:
    id: strawberry.ID
    conversation_id: str
    sender_id: strawberry.ID
    recipient_id: strawberry.ID
    text: str
    created_at: datetime
    read_at: datetime | None


@strawberry.type
class Peer:
    id: strawberry.ID
    username: str


@strawberry.type
class Conversation:
    id: str
    user: Peer = strawberry.field(description="The other one")
    last_message: Message | None
    unread_count: int


@strawberry.type
class ConversationPage:
    items: list[Conversation]
    meta: PageMeta


@strawberry.type(description="Messages with one user, oldest first")
class MessageHistory:
    items: list[Message]
    has_older: bool
    has_newer: bool


@strawberry.type
class ReadResult:
    count: int
    up_to: str | None


@strawberry.type(description="A user came online or went offline")
class Presence:
    user_id: strawberry.ID
    username: str | None
    connected: bool


@strawberry.type(description="The caller's inbox after a change, as of change `seq`")
class InboxState:
    user_id: strawberry.ID
    seq: int
    unread_count: int
    counted_through: strawberry.ID | None = strawberry.field(
        description="The newest notification the count looked at"
    )


@strawberry.type(description="A change of the caller's inbox, from any of their devices")
class InboxChange:
    kind: str = strawberry.field(
        description="notification.updated, notification.deleted or notifications.read_all"
    )
    notification: Notification | None = strawberry.field(description="Updated: as it is now")
    notification_id: strawberry.ID | None = strawberry.field(description="Updated or deleted")
    up_to: strawberry.ID | None = strawberry.field(description="Read all: up to this id")
    still_unread: list[strawberry.ID] | None = strawberry.field(
        description="Read all: those up to `upTo` that stayed unread (arrived meanwhile)"
    )
    inbox: InboxState
