"""Sending, listing and reading direct messages; plain functions, no Flask request inside.

A message travels like a notification: announced in the outbox, saved, and
published by the instance's relay, so sending never depends on the broker and
every socket of both participants gets it once, in order. Its id comes from the
same publication order as notifications', so one `since` resumes both. Reading
a conversation is announced the same way and published as a receipt: the
newest message the reader has read, which only ever moves forward.
"""

from mongoengine.errors import NotUniqueError
from mongoengine.queryset.visitor import Q

from app import idempotency, missed, presence
from app.auth.models import User
from app.clock import now
from app.conversations.models import Conversation, Message, conversation_id
from app.errors import NotFound, Unprocessable
from app.ids import is_uuid
from app.notifications import service as notifications
from app.notifications.ports import Outbox
from app.relations import service as relations

MESSAGE_NOTIFICATION_TYPE = "message"
PREVIEW_CHARACTERS = 140


def _peer(user_id, other_id):
    """The other participant, who must exist and not be the caller."""
    if not is_uuid(other_id):
        raise NotFound("No such user.")
    other = User.by_id(other_id)
    if other is None:
        raise NotFound("No such user.")
    if other_id == user_id:
        raise Unprocessable("A conversation is between two users.", errors={"userId": ["Is you."]})
    return other


def send_message(
    *, sender_id, recipient_id, text, outbox: Outbox, idempotency_key=None, key_ttl=None
):
    """Store a message to `recipient_id`; returns `(message, replayed)`.

    Refused (403) when the recipient blocked the sender. A recipient with no
    open socket anywhere is also notified (`_notify_offline`).
    """
    _peer(sender_id, recipient_id)
    relations.ensure_not_blocked(sender_id=sender_id, recipient_id=recipient_id)
    fields = {"recipient_id": recipient_id, "text": text}
    with outbox.new_ids(1) as (planned_id,):  # held back from publishing until saved
        message_id = planned_id
        if idempotency_key:
            record = idempotency.claim(
                f"message:{sender_id}", idempotency_key, fields, planned_id, key_ttl
            )
            existing = Message.objects(id=record.resource_id).first()
            if existing:
                return existing, True
            message_id = record.resource_id
        with outbox.creating(message_id):  # (an earlier try's id, when it is one)
            message = _insert(
                Message(
                    id=message_id,
                    conversation_id=conversation_id(sender_id, recipient_id),
                    sender_id=sender_id,
                    recipient_id=recipient_id,
                    text=text,
                ),
                outbox,
            )
    outbox.saved([message])
    _notify_offline(message, outbox)
    return message, False


def _insert(message, outbox: Outbox):
    """Announce `message` in the outbox, save it and move its conversation up the list."""
    outbox.announce([message.id], kind="message")
    try:
        message.save(force_insert=True)
    except NotUniqueError:  # the same idempotent request, running concurrently
        message = Message.objects.get(id=message.id)
    Conversation.objects(id=message.conversation_id).update_one(
        upsert=True,
        set__participants=sorted((message.sender_id, message.recipient_id)),
        max__last_message_id=message.id,
    )
    return message


def _notify_offline(message, outbox: Outbox):
    """A recipient with no socket open learns of the message from a notification, one
    per sender while unread: a chatty conversation updates it instead of adding more."""
    if presence.is_online(message.recipient_id):
        return
    sender = User.by_id(message.sender_id)
    notifications.notify_or_fold(
        sender_id=message.sender_id,
        user_id=message.recipient_id,
        type=MESSAGE_NOTIFICATION_TYPE,
        outbox=outbox,
        render=lambda count: (
            f"{sender.username}: {message.text[:PREVIEW_CHARACTERS]}"
            if count == 1
            else f"{count} new messages from {sender.username}",
            {"conversationWith": message.sender_id, "lastMessageId": message.id},
        ),
    )


def list_conversations(*, user_id, page, per_page):
    """The caller's conversations, newest activity first, each with the other user,
    the last message and how many messages to the caller are unread."""
    query = Conversation.objects(participants=user_id).order_by("-last_message_id")
    total = query.count()
    items = []
    for conversation in query.skip((page - 1) * per_page).limit(per_page):
        other_id = next((p for p in conversation.participants if p != user_id), user_id)
        other = User.by_id(other_id)
        items.append(
            {
                "id": conversation.id,
                "user": {"id": other_id, "username": other.username if other else "(deleted)"},
                "last_message": Message.objects(id=conversation.last_message_id).first(),
                "unread_count": Message.objects(
                    conversation_id=conversation.id, recipient_id=user_id, read_at=None
                ).count(),
            }
        )
    meta = {
        "page": page,
        "perPage": per_page,
        "total": total,
        "totalPages": -(-total // per_page),
    }
    return items, meta


def history(*, user_id, other_id, before=None, after=None, limit=50):
    """Messages between the caller and `other_id`, oldest first: the newest `limit`, or
    the `limit` just before `before`, or just after `after` (message ids)."""
    _peer(user_id, other_id)
    for name, cursor in (("before", before), ("after", after)):
        if cursor is not None and not is_uuid(cursor):
            raise Unprocessable(f"`{name}` must be a message id.", errors={name: ["Not a UUID."]})
    messages = Message.objects(conversation_id=conversation_id(user_id, other_id))
    if after:
        page = list(messages.filter(id__gt=after.lower()).order_by("id").limit(limit + 1))
        has_newer, page = len(page) > limit, page[:limit]
        has_older = bool(page) or messages.filter(id__lte=after.lower()).first() is not None
    else:
        if before:
            messages = messages.filter(id__lt=before.lower())
        page = list(messages.order_by("-id").limit(limit + 1))
        has_older, page = len(page) > limit, page[:limit][::-1]
        has_newer = bool(before) and (
            Message.objects(
                conversation_id=conversation_id(user_id, other_id), id__gte=before.lower()
            ).first()
            is not None
        )
    return page, {"has_older": has_older, "has_newer": has_newer}


def mark_read(*, user_id, other_id, up_to, outbox: Outbox):
    """Mark the messages `other_id` sent the caller read, up to message `up_to`.

    Returns `(how many were newly read, the newest read now)`; the sender's
    sockets (and the caller's other ones) get the receipt.
    """
    _peer(user_id, other_id)
    conversation = conversation_id(user_id, other_id)
    known = is_uuid(up_to) and Message.objects(id=up_to.lower(), conversation_id=conversation)
    if not known or known.first() is None:
        raise NotFound("No such message in this conversation.", errors={"upTo": ["Unknown."]})
    with outbox.new_ids(1) as (receipt_id,):
        outbox.announce_receipt(receipt_id, reader_id=user_id, other_id=other_id)
        count = Message.objects(
            conversation_id=conversation, recipient_id=user_id, read_at=None, id__lte=up_to.lower()
        ).update(set__read_at=now())
    outbox.change_applied()
    return count, last_read(reader_id=user_id, other_id=other_id)


def last_read(*, reader_id, other_id):
    """The newest message from `other_id` that `reader_id` has read, or None."""
    return (
        Message.objects(
            conversation_id=conversation_id(reader_id, other_id),
            recipient_id=reader_id,
            read_at__ne=None,
        )
        .order_by("-id")
        .first()
    )


def unread_count(*, user_id):
    return Message.objects(recipient_id=user_id, read_at=None).count()


def can_message(*, sender_id, recipient_id):
    """True when `sender_id` may message (or show typing to) `recipient_id`."""
    return (
        is_uuid(recipient_id)
        and recipient_id != sender_id
        and User.exists(recipient_id)
        and not relations.is_blocked(sender_id=sender_id, recipient_id=recipient_id)
    )


def missed_since(*, user_id, since, limit, outbox: Outbox, publish_wait=0.0):
    """Messages to or from `user_id` published after id `since`, oldest first:
    `(messages, truncated)`, as `app.missed.published_after` tells."""

    def newest():
        # Two indexed queries rather than one `$or`, which FerretDB answers by a scan.
        found = []
        for participant in (Q(sender_id=user_id), Q(recipient_id=user_id)):
            found.extend(Message.objects(participant, id__gt=since).order_by("-id")[: limit + 1])
        return sorted(found, key=lambda m: m.id, reverse=True)[: limit + 1]

    return missed.published_after(newest, limit=limit, outbox=outbox, publish_wait=publish_wait)


def delete_conversations_of(_app, *, user_id):
    """`signals.user_deleted`: every conversation the user took part in, with its messages,
    sent or received: the other participant keeps no one-sided half of it."""
    Message.objects(Q(sender_id=user_id) | Q(recipient_id=user_id)).delete()
    Conversation.objects(participants=user_id).delete()
