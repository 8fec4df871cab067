"""Creating, listing and marking notifications; plain functions, no Flask request inside.

Each notification is announced in the outbox before it is saved, and handed to
the broker by the instance's relay, so accepting it never depends on the broker
being up. The functions that create or resume take the instance's `outbox`
(the port in `app.notifications.ports`): it makes the ids in publication order,
records the announcements and is handed what was saved.
"""

import contextlib
from datetime import timedelta

from mongoengine.errors import NotUniqueError

from app import idempotency, missed
from app.auth.models import User
from app.clock import now
from app.errors import Forbidden, NotFound, Unprocessable
from app.ids import is_uuid
from app.notifications import inbox
from app.notifications.models import Notification
from app.notifications.ports import Outbox
from app.pagination import page_of
from app.relations import service as relations

INSERT_BATCH = 1000


def create_notification(
    *,
    sender_id,
    user_id,
    message,
    outbox: Outbox,
    type=None,
    data=None,
    idempotency_key=None,
    key_ttl=None,
):
    """Store a notification for `user_id`; returns `(notification, replayed)`.

    With an idempotency key the notification's id is chosen and recorded first,
    so a retry of the same request finds or finishes the same notification.
    A key is remembered for `key_ttl` seconds (given with every key; the route
    passes IDEMPOTENCY_KEY_TTL); after that it is a new request.
    """
    if not is_uuid(user_id) or not User.exists(user_id):
        raise NotFound("No such recipient.", errors={"userId": ["No user has this id."]})
    relations.ensure_not_blocked(sender_id=sender_id, recipient_id=user_id)
    fields = {
        "user_id": user_id,
        "sender_id": sender_id,
        "message": message,
        "type": type,
        "data": data,
    }
    with outbox.new_ids(1) as (planned_id,):  # held back from publishing until saved
        if not idempotency_key:
            notification = _insert(Notification(id=planned_id, **fields), outbox)
        else:
            record = idempotency.claim(sender_id, idempotency_key, fields, planned_id, key_ttl)
            existing = Notification.objects(id=record.resource_id).first()
            if existing:
                return existing, True
            with outbox.creating(record.resource_id):  # an earlier try's id
                notification = _insert(Notification(id=record.resource_id, **fields), outbox)
    # Handed over once no longer held back, so the relay can publish it now.
    outbox.saved([notification])
    return notification, False


def _insert(notification, outbox: Outbox):
    """Announce `notification` in the outbox, then save it."""
    outbox.announce([notification.id])  # (kept as it is if an earlier try announced it)
    try:
        notification.save(force_insert=True)
    except NotUniqueError:  # the same idempotent request, running concurrently
        notification = Notification.objects.get(id=notification.id)
    return notification


def broadcast(
    *, sender_id, message, outbox: Outbox, user_ids=None, all_users=False, type=None, data=None
):
    """One notification for each of `user_ids` (or every user), but those who blocked
    the sender; returns how many."""
    if all_users:
        recipients = list(User.objects.distinct("id"))
    else:
        recipients = list(dict.fromkeys(user_ids))
        known = set(User.objects(id__in=[u for u in recipients if is_uuid(u)]).distinct("id"))
        unknown = [u for u in recipients if u not in known]
        if unknown:
            raise NotFound("Some recipients do not exist.", errors={"userIds": unknown[:100]})
    blockers = relations.blockers_among(sender_id=sender_id, recipient_ids=recipients)
    recipients = [u for u in recipients if u not in blockers]
    for start in range(0, len(recipients), INSERT_BATCH):
        chunk = recipients[start : start + INSERT_BATCH]
        with outbox.new_ids(len(chunk)) as ids:
            batch = [
                Notification(
                    id=i, user_id=u, sender_id=sender_id, message=message, type=type, data=data
                )
                for i, u in zip(ids, chunk, strict=True)
            ]
            outbox.announce(ids)
            Notification.objects.insert(batch, load_bulk=False)
        outbox.saved(batch)  # (after the block, as in create_notification)
    return len(recipients)


def notify_or_fold(*, sender_id, user_id, type, render, outbox: Outbox):
    """Notify `user_id`, or fold this into the unread notification of `type` they have
    from `sender_id` already: `render(count)` gives the message and data for `count`
    such events, and `data.count` keeps the count."""
    existing = (
        Notification.objects(user_id=user_id, sender_id=sender_id, type=type, read=False)
        .order_by("-id")
        .first()
    )
    if existing is None:
        message, data = render(1)
        return create_notification(
            sender_id=sender_id,
            user_id=user_id,
            message=message,
            type=type,
            data={**data, "count": 1},
            outbox=outbox,
        )[0]
    count = int((existing.data or {}).get("count", 1)) + 1
    message, data = render(count)
    with _changing(outbox, user_id=user_id, kind=inbox.UPDATED, notification_id=existing.id):
        Notification.objects(id=existing.id).update_one(
            set__message=message, set__data={**data, "count": count}
        )
    return existing


def owned(*, user_id, notification_id):
    """The caller's notification; anyone else's is a 404 like a missing one."""
    if not is_uuid(notification_id):
        raise NotFound("No such notification.")
    notification = Notification.objects(id=notification_id, user_id=user_id).first()
    if notification is None:
        raise NotFound("No such notification.")
    return notification


def list_notifications(*, user_id, page, per_page, read=None):
    """The caller's notifications, newest first."""
    notifications = Notification.objects(user_id=user_id).order_by("-id")
    if read is not None:
        notifications = notifications.filter(read=read)
    return page_of(notifications, page=page, per_page=per_page)


def notifications_after(*, user_id, first, after=None, read=None):
    """The caller's notifications, newest first: the `first` older than notification
    `after` (all when None); returns `(notifications, more_after_them, total)`."""
    if after is not None and not is_uuid(after):
        raise Unprocessable(
            "`after` must be a cursor of this list.", errors={"after": ["Unknown."]}
        )
    notifications = Notification.objects(user_id=user_id)
    if read is not None:
        notifications = notifications.filter(read=read)
    total = notifications.count()
    if after is not None:
        notifications = notifications.filter(id__lt=after.lower())
    page = list(notifications.order_by("-id").limit(first + 1))
    return page[:first], len(page) > first, total


def mark_read(*, user_id, notification_id, outbox: Outbox, read=True):
    """Set the read state; marking read again keeps the first `readAt`."""
    owned(user_id=user_id, notification_id=notification_id)
    with _changing(outbox, user_id=user_id, kind=inbox.UPDATED, notification_id=notification_id):
        query = Notification.objects(id=notification_id, user_id=user_id, read=not read)
        if read:
            query.update_one(set__read=True, set__read_at=now())
        else:
            query.update_one(set__read=False, unset__read_at=True)
    return owned(user_id=user_id, notification_id=notification_id)


def mark_all_read(*, user_id, outbox: Outbox, up_to=None):
    """Mark the caller's unread notifications read, up to `up_to` (default: the newest
    now, so one arriving meanwhile stays unread); returns how many changed."""
    if up_to is None:
        newest = Notification.objects(user_id=user_id).order_by("-id").only("id").first()
        if newest is None:
            return 0
        up_to = newest.id
    elif not is_uuid(up_to):
        raise Unprocessable("`upTo` must be a notification id.", errors={"upTo": ["Not a UUID."]})
    with _changing(outbox, user_id=user_id, kind=inbox.READ_ALL, up_to=up_to.lower()):
        return Notification.objects(user_id=user_id, read=False, id__lte=up_to.lower()).update(
            set__read=True, set__read_at=now()
        )


def unread_count(*, user_id):
    return Notification.objects(user_id=user_id, read=False).count()


def delete_notification(*, user_id, notification_id, outbox: Outbox, is_admin=False, edit_window):
    """Delete a notification: the recipient's own, from their inbox at any time; or,
    by its sender or an admin, a retraction within `edit_window` seconds."""
    notification = _changeable(user_id, notification_id, is_admin, edit_window, own_ok=True)
    with _changing(
        outbox, user_id=notification.user_id, kind=inbox.DELETED, notification_id=notification.id
    ):
        Notification.objects(id=notification.id).delete()


def edit_notification(
    *, user_id, notification_id, outbox: Outbox, is_admin=False, edit_window, changes
):
    """A sender's (or an admin's) edit of `message` and `data`, within `edit_window` seconds.

    The recipient sees it live, with `editedAt` set.
    """
    notification = _changeable(user_id, notification_id, is_admin, edit_window, own_ok=False)
    updates = {f"set__{name}": value for name, value in changes.items()}
    with _changing(
        outbox, user_id=notification.user_id, kind=inbox.UPDATED, notification_id=notification.id
    ):
        Notification.objects(id=notification.id).update_one(set__edited_at=now(), **updates)
    return Notification.objects(id=notification.id).first() or _not_found()


def _changeable(user_id, notification_id, is_admin, edit_window, *, own_ok):
    """The notification `user_id` may delete (`own_ok`: their own) or edit as its sender.

    Someone else's notification they did not send is a 404, as when reading it;
    the recipient editing what someone else sent is a 403, and so is a sender
    past the edit window.
    """
    if not is_uuid(notification_id):
        _not_found()
    notification = Notification.objects(id=notification_id).first()
    if notification is None:
        _not_found()
    if own_ok and notification.user_id == user_id:
        return notification
    if notification.sender_id != user_id and not is_admin:
        if notification.user_id == user_id:
            raise Forbidden("Only its sender can edit a notification.")
        _not_found()
    if notification.created_at < now() - timedelta(seconds=edit_window):
        raise Forbidden(
            f"Notifications can be edited or retracted for {edit_window:g} seconds "
            "after they are sent; this one is older."
        )
    return notification


def _not_found():
    raise NotFound("No such notification.")


@contextlib.contextmanager
def _changing(outbox: Outbox, *, user_id, kind, notification_id=None, up_to=None):
    """Announce a change of `user_id`'s inbox in the outbox, then let the block apply it.

    Announced first, so an applied change is never left unpublished; held back
    from the relay until the block ends, so the state it publishes is read
    after the change (`app.notifications.inbox`).
    """
    with outbox.new_ids(1) as (change_id,):
        outbox.announce_change(
            change_id, user_id=user_id, kind=kind, notification_id=notification_id, up_to=up_to
        )
        yield
    outbox.change_applied()


def inbox_since(*, user_id, seq=None, limit):
    """The state now of what changed in the caller's inbox after change `seq`, and its
    unread count: `(snapshots, state, resync)`, see `app.notifications.inbox.changes_since`.

    Without `seq` (a client that has just loaded its list), only the count.
    """
    if seq is None:
        return [], inbox.state(user_id, inbox.current_seq(user_id)), False
    if not (isinstance(seq, int) or (isinstance(seq, str) and seq.isascii() and seq.isdigit())):
        raise Unprocessable(
            "`seq` must be the number of a change (`inbox.seq` of a frame).",
            errors={"seq": ["Not a non-negative integer."]},
        )
    return inbox.changes_since(user_id, int(seq), limit=limit)


def missed_since(*, user_id, since, limit, outbox: Outbox, publish_wait=0.0):
    """What was published for `user_id` after notification `since`, oldest first:
    `(notifications, truncated)`, as `app.missed.published_after` tells."""
    if not is_uuid(since):
        raise Unprocessable("`since` must be a notification id.", errors={"since": ["Not a UUID."]})

    def newest():
        query = Notification.objects(user_id=user_id, id__gt=since.lower()).order_by("-id")
        return list(query[: limit + 1])

    return missed.published_after(newest, limit=limit, outbox=outbox, publish_wait=publish_wait)
