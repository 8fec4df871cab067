"""Blocking and unblocking, and the check every sender goes through."""

import contextlib

from mongoengine.errors import NotUniqueError

from app.auth.models import User
from app.errors import Forbidden, NotFound, Unprocessable
from app.ids import is_uuid
from app.pagination import page_of
from app.relations.models import Block, Follow


def _existing_user(user_id):
    if not is_uuid(user_id) or not User.exists(user_id):
        raise NotFound("No such user.")


def block(*, blocker_id, blocked_id):
    """Block a user (idempotent); blocking oneself is a 422."""
    _existing_user(blocked_id)
    if blocked_id == blocker_id:
        raise Unprocessable("You cannot block yourself.", errors={"userId": ["Is you."]})
    block = Block(id=Block.key(blocker_id, blocked_id), blocker=blocker_id, blocked=blocked_id)
    with contextlib.suppress(NotUniqueError):  # blocked already
        block.save(force_insert=True)


def unblock(*, blocker_id, blocked_id):
    """Unblock a user (idempotent)."""
    _existing_user(blocked_id)
    Block.objects(id=Block.key(blocker_id, blocked_id)).delete()


def blocked_by(*, user_id, page, per_page):
    """The users `user_id` blocked, newest first."""
    return page_of(
        Block.objects(blocker=user_id).order_by("-created_at"), page=page, per_page=per_page
    )


def is_blocked(*, sender_id, recipient_id):
    """True when `recipient_id` blocked `sender_id`: one `_id` lookup."""
    key = Block.key(recipient_id, sender_id)
    return Block._get_collection().find_one({"_id": key}, {"_id": 1}) is not None


def ensure_not_blocked(*, sender_id, recipient_id):
    """Refuse (403) what `sender_id` sends to a recipient who blocked them."""
    if sender_id != recipient_id and is_blocked(sender_id=sender_id, recipient_id=recipient_id):
        raise Forbidden("This user does not accept anything from you.")


def blockers_among(*, sender_id, recipient_ids):
    """Those of `recipient_ids` who blocked `sender_id`."""
    if not recipient_ids:
        return set()
    return set(
        Block.objects(blocked=sender_id, blocker__in=list(recipient_ids)).distinct("blocker")
    )


def follow(*, follower_id, followed_id):
    """Follow a user (idempotent); following oneself is a 422."""
    _existing_user(followed_id)
    if followed_id == follower_id:
        raise Unprocessable("You cannot follow yourself.", errors={"userId": ["Is you."]})
    follow = Follow(
        id=Follow.key(follower_id, followed_id), follower=follower_id, followed=followed_id
    )
    with contextlib.suppress(NotUniqueError):  # following already
        follow.save(force_insert=True)


def unfollow(*, follower_id, followed_id):
    """Stop following a user (idempotent)."""
    _existing_user(followed_id)
    Follow.objects(id=Follow.key(follower_id, followed_id)).delete()


def followers(*, user_id, page, per_page):
    """Who follows `user_id`, newest first: (users, meta)."""
    _existing_user(user_id)
    query = Follow.objects(followed=user_id).order_by("-created_at")
    return _users_of(query, "follower", page, per_page)


def following(*, user_id, page, per_page):
    """Whom `user_id` follows, newest first: (users, meta)."""
    _existing_user(user_id)
    query = Follow.objects(follower=user_id).order_by("-created_at")
    return _users_of(query, "followed", page, per_page)


def _users_of(query, field, page, per_page):
    follows, meta = page_of(query, page=page, per_page=per_page)
    ids = [getattr(f, field) for f in follows]
    names = {u.id: u.username for u in (User.by_id(i) for i in ids) if u is not None}
    items = [
        {"id": i, "username": names[i], "since": f.created_at}
        for i, f in zip(ids, follows, strict=True)
        if i in names
    ]
    return items, meta


def profile(*, user_id, viewer_id):
    """A user as anyone sees them, with their follow counts and whether the viewer
    follows them."""
    _existing_user(user_id)
    user = User.by_id(user_id)
    return {
        "id": user.id,
        "username": user.username,
        "followers_count": Follow.objects(followed=user_id).count(),
        "following_count": Follow.objects(follower=user_id).count(),
        "followed_by_me": Follow.objects(id=Follow.key(viewer_id, user_id)).first() is not None,
    }


def is_follower(*, follower_id, followed_id):
    key = Follow.key(follower_id, followed_id)
    return Follow._get_collection().find_one({"_id": key}, {"_id": 1}) is not None


def delete_relations_of(_app, *, user_id):
    """`signals.user_deleted`: the user's blocks and follows, both ways."""
    Block.objects(blocker=user_id).delete()
    Block.objects(blocked=user_id).delete()
    Follow.objects(follower=user_id).delete()
    Follow.objects(followed=user_id).delete()
