"""A user's inbox as a numbered sequence of changes, and its state after each one.

Marking read or unread, reading all, deleting, and a sender's edit or retraction
change a user's inbox. Every socket of the user must end in the state the
database ended in, although the events travel through the relays of several
instances and arrive in any order. So each change gets a number from a per-user
counter, and its event carries the state *read after that number was taken*:

1. the request applies the change (having announced it in the outbox first),
2. the relay takes the user's next number `seq` for it (`record`),
3. the relay reads the state the event carries (`snapshots`).

A change applied before its number was taken (1 before 2), and a number taken
before the state is read (2 before 3), make the state in the event numbered
`seq` reflect every change numbered `seq` or lower. So a client that applies an
event to a notification only when its `seq` is above the last one it applied to
that notification, and takes the unread count only from a higher `seq`, ends in
the database's state whatever the order of arrival. The changes are kept for
INBOX_CHANGES_RETENTION seconds so a reconnecting client can be told the current
state of what changed while it was away (`changes_since`).
"""

import time
from dataclasses import dataclass, field
from datetime import timedelta

import mongoengine as me
from mongoengine.errors import NotUniqueError

from app.clock import now
from app.notifications.models import Notification

UPDATED, DELETED, READ_ALL = "updated", "deleted", "read_all"
KINDS = (UPDATED, DELETED, READ_ALL)
# Notifications at or below a read-all's `upTo` that are unread again when the state is
# read (marked unread since, or saved late): sent with the event, at most this many.
STILL_UNREAD_LIMIT = 1000
PURGE_INTERVAL = 60.0  # seconds between two purges of old changes by one process
PURGE_USERS = 1000  # users whose old changes one purge forgets (the rest: the next one)
_purged_at = None


class InboxSequence(me.Document):
    """The highest number one user's changes reached, kept when old changes are forgotten."""

    id = me.StringField(primary_key=True)  # the user's id
    seq = me.IntField(required=True, default=0)

    meta = {"collection": "inbox_sequences"}


class InboxChange(me.Document):
    """One numbered change, kept for a while so a reconnecting client can catch up."""

    id = me.StringField(primary_key=True)  # its outbox entry's id: recording again is a no-op
    user_id = me.StringField(required=True)
    seq = me.IntField(required=True)
    kind = me.StringField(required=True, choices=KINDS)
    notification_id = me.StringField()  # UPDATED, DELETED
    up_to = me.StringField()  # READ_ALL: every notification up to this id was marked read
    created_at = me.DateTimeField(required=True, default=now)

    meta = {
        "collection": "inbox_changes",
        "indexes": [{"fields": ["user_id", "seq"], "unique": True}, "created_at"],
    }


@dataclass(frozen=True)
class InboxState:
    """The unread count as of change `seq`.

    `counted_through` is the newest notification the count looked at: one that
    arrives later with a higher id is not in it, one at or below it is.
    """

    user_id: str
    seq: int
    unread_count: int
    counted_through: str | None


@dataclass(frozen=True)
class Snapshot:
    """What a client must apply for one change: the state after it."""

    kind: str
    state: InboxState
    notification_id: str | None = None
    notification: Notification | None = None  # UPDATED: as it is now
    up_to: str | None = None
    still_unread: list[str] = field(default_factory=list)  # READ_ALL


def record(change_id, *, user_id, kind, notification_id=None, up_to=None, retention):
    """Number a change, once: recording `change_id` again returns the same `InboxChange`.

    The number is taken by inserting the change with the next one: the unique
    index on (user, seq) makes two relays numbering at once take two numbers.
    (A counter document would not do: FerretDB loses concurrent `$inc`s of one
    document, the later write overwriting the earlier.)
    """
    _purge_old(retention)
    while True:
        existing = InboxChange.objects(id=change_id).first()
        if existing is not None:
            return existing
        change = InboxChange(
            id=change_id,
            user_id=user_id,
            seq=current_seq(user_id) + 1,
            kind=kind,
            notification_id=notification_id,
            up_to=up_to,
        )
        try:
            change.save(force_insert=True)
            return change
        except NotUniqueError:
            continue  # that number was just taken (or this change recorded): look again


def current_seq(user_id):
    """The number of the user's last change: the newest kept, or, once all were
    forgotten, the highest number they reached (`InboxSequence`)."""
    last = InboxChange.objects(user_id=user_id).order_by("-seq").only("seq").first()
    floor = InboxSequence.objects(id=user_id).first()
    return max(last.seq if last else 0, floor.seq if floor else 0)


def state(user_id, seq):
    """The unread count now, for a change numbered `seq` (already taken)."""
    newest = Notification.objects(user_id=user_id).order_by("-id").only("id").first()
    if newest is None:
        return InboxState(user_id, seq, 0, None)
    count = Notification.objects(user_id=user_id, read=False, id__lte=newest.id).count()
    return InboxState(user_id, seq, count, newest.id)


def snapshots(changes):
    """The state after each of `changes` (`InboxChange`s, all recorded already)."""
    states, found = {}, {}
    result = []
    for change in changes:
        if change.user_id not in states:
            states[change.user_id] = state(change.user_id, 0)
        inbox = _at(states[change.user_id], change.seq)
        result.append(_snapshot(change, inbox, found))
    return result


def _at(inbox, seq):
    return InboxState(inbox.user_id, seq, inbox.unread_count, inbox.counted_through)


def _snapshot(change, inbox, found):
    if change.kind == READ_ALL:
        unread = Notification.objects(user_id=change.user_id, read=False, id__lte=change.up_to)
        still_unread = [n.id for n in unread.order_by("id").only("id")[:STILL_UNREAD_LIMIT]]
        return Snapshot(READ_ALL, inbox, up_to=change.up_to, still_unread=still_unread)
    notification_id = change.notification_id
    if notification_id not in found:
        # One query per id: FerretDB answers an `_id` `$in` by scanning the collection.
        found[notification_id] = Notification.objects(
            id=notification_id, user_id=change.user_id
        ).first()
    notification = found[notification_id]
    if notification is None:  # deleted, then or since: the state is "gone"
        return Snapshot(DELETED, inbox, notification_id=notification_id)
    return Snapshot(UPDATED, inbox, notification_id=notification_id, notification=notification)


def changes_since(user_id, seq, *, limit):
    """The state now of what changed after change `seq`, for a reconnecting client.

    Returns `(snapshots, state, resync)`: one snapshot per notification changed
    (and one for the latest read-all), all as of the current number; `resync`
    is True when the changes cannot be told (more than `limit`, forgotten, or a
    `seq` this inbox never reached), and the client should reload its list.
    """
    current = current_seq(user_id)
    inbox = state(user_id, current)
    if seq == current:
        return [], inbox, False
    if seq > current:
        return [], inbox, True
    changes = list(
        InboxChange.objects(user_id=user_id, seq__gt=seq, seq__lte=current)
        .order_by("seq")
        .limit(limit + 1)
    )
    if not changes or changes[0].seq != seq + 1 or len(changes) > limit:
        return [], inbox, True
    touched = {}
    latest_read_all = None
    for change in changes:
        if change.kind == READ_ALL:
            if latest_read_all is None or change.up_to > latest_read_all.up_to:
                latest_read_all = change
        else:
            touched[change.notification_id] = change
    found = {}
    result = [_snapshot(change, inbox, found) for change in touched.values()]
    if latest_read_all is not None:
        result.append(_snapshot(latest_read_all, inbox, found))
    return result, inbox, False


def _purge_old(retention):
    """Forget changes older than `retention` seconds, at most once a PURGE_INTERVAL;
    each user's highest number is kept (`InboxSequence`) so numbers never go back."""
    global _purged_at
    if _purged_at is not None and time.monotonic() - _purged_at < PURGE_INTERVAL:
        return
    _purged_at = time.monotonic()
    old = InboxChange.objects(created_at__lt=now() - timedelta(seconds=retention))
    for user_id in old.distinct("user_id")[:PURGE_USERS]:
        reached = current_seq(user_id)
        InboxSequence.objects(id=user_id).update_one(upsert=True, set__seq=reached)
        old.filter(user_id=user_id).delete()


def delete_inbox(_app, *, user_id):
    """`signals.user_deleted`: the user's notifications and their changes go with them.

    What they sent others stays in those inboxes, as a letter outlives its sender.
    """
    Notification.objects(user_id=user_id).delete()
    InboxChange.objects(user_id=user_id).delete()
    InboxSequence.objects(id=user_id).delete()
