"""Blocking and unblocking, and the check every sender goes through."""

import contextlib

from mongoengine.errors import NotUniqueError

from app.auth.models import User
from app.errors import Forbidden, NotFound, Unprocessable
from app.ids import is_uuid
from app.pagination import page_of
from app.relations.models import Block


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


def delete_blocks_of(_app, *, user_id):
    """`signals.user_deleted`: the blocks the user made, and those of others against them."""
    Block.objects(blocker=user_id).delete()
    Block.objects(blocked=user_id).delete()
