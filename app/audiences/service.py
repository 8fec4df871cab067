"""Topics and their subscribers, and notifying an audience; plain functions, no request.

Who may do what: anyone creates a topic (and owns it) and subscribes or leaves
themself; a topic's owner (or an admin) lists, adds and removes its
subscribers, deletes it and notifies it; a user's followers are notified by
that user or an admin. A fan-out job is seen by its sender or an admin.
"""

import re

from mongoengine.errors import NotUniqueError

from app.audiences import fanout
from app.audiences.models import FOLLOWERS, TOPIC, FanoutClaim, FanoutJob, Subscription, Topic
from app.auth.models import User
from app.errors import Conflict, Forbidden, NotFound, Unprocessable
from app.ids import is_uuid
from app.notifications import service as notifications
from app.notifications.ports import Outbox
from app.pagination import page_of

TOPIC_KEY = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


def create_topic(*, owner_id, key, name):
    if not TOPIC_KEY.match(key):
        raise Unprocessable(
            "A topic key is 1-64 lowercase letters, digits, '.', '_' or '-'.",
            errors={"key": ["Not a valid key."]},
        )
    topic = Topic(id=key, name=name, owner_id=owner_id)
    try:
        topic.save(force_insert=True)
    except NotUniqueError:
        raise Conflict("That topic key is taken.", errors={"key": ["Taken."]}) from None
    return topic_view(topic, viewer_id=owner_id)


def topic_view(topic, *, viewer_id):
    return {
        "key": topic.id,
        "name": topic.name,
        "owner_id": topic.owner_id,
        "created_at": topic.created_at,
        "subscriber_count": Subscription.objects(topic=topic.id).count(),
        "subscribed": Subscription.objects(id=Subscription.key(topic.id, viewer_id)).first()
        is not None,
    }


def list_topics(*, viewer_id, page, per_page, subscribed=None):
    query = Topic.objects.order_by("id")
    if subscribed is not None:
        mine = list(Subscription.objects(user_id=viewer_id).distinct("topic"))
        query = query.filter(id__in=mine) if subscribed else query.filter(id__nin=mine)
    topics, meta = page_of(query, page=page, per_page=per_page)
    return [topic_view(t, viewer_id=viewer_id) for t in topics], meta


def _topic(key):
    topic = Topic.objects(id=key).first() if isinstance(key, str) else None
    if topic is None:
        raise NotFound("No such topic.")
    return topic


def _owned_topic(key, *, user_id, is_admin):
    topic = _topic(key)
    if topic.owner_id != user_id and not is_admin:
        raise Forbidden("Only the topic's owner (or an admin) may do this.")
    return topic


def subscribe(*, key, user_id):
    """Subscribe oneself (idempotent)."""
    topic = _topic(key)
    _add(topic.id, [user_id])


def unsubscribe(*, key, user_id):
    """Leave a topic (idempotent)."""
    topic = _topic(key)
    Subscription.objects(id=Subscription.key(topic.id, user_id)).delete()


def add_subscribers(*, key, user_id, is_admin, user_ids):
    """The owner (or an admin) subscribes users; returns how many were new."""
    topic = _owned_topic(key, user_id=user_id, is_admin=is_admin)
    wanted = list(dict.fromkeys(user_ids))
    known = set(User.objects(id__in=[u for u in wanted if is_uuid(u)]).distinct("id"))
    unknown = [u for u in wanted if u not in known]
    if unknown:
        raise NotFound("Some users do not exist.", errors={"userIds": unknown[:100]})
    return _add(topic.id, wanted)


def remove_subscribers(*, key, user_id, is_admin, user_ids):
    """The owner (or an admin) removes subscribers; returns how many were removed."""
    topic = _owned_topic(key, user_id=user_id, is_admin=is_admin)
    keys = [Subscription.key(topic.id, u) for u in dict.fromkeys(user_ids)]
    return Subscription.objects(topic=topic.id, id__in=keys).delete()


def _add(topic_key, user_ids):
    added = 0
    for user in user_ids:
        try:
            Subscription(id=Subscription.key(topic_key, user), topic=topic_key, user_id=user).save(
                force_insert=True
            )
            added += 1
        except NotUniqueError:
            pass  # subscribed already
    return added


def subscribers(*, key, user_id, is_admin, page, per_page):
    topic = _owned_topic(key, user_id=user_id, is_admin=is_admin)
    query = Subscription.objects(topic=topic.id).order_by("-created_at")
    rows, meta = page_of(query, page=page, per_page=per_page)
    users = [(row, User.by_id(row.user_id)) for row in rows]
    items = [{"id": u.id, "username": u.username, "since": row.created_at} for row, u in users if u]
    return items, meta


def delete_topic(*, key, user_id, is_admin):
    topic = _owned_topic(key, user_id=user_id, is_admin=is_admin)
    Subscription.objects(topic=topic.id).delete()
    topic.delete()


def notify(
    *,
    sender_id,
    is_admin,
    body,
    outbox: Outbox,
    worker,
    key_ttl,
    sync_limit,
    batch_size,
    idempotency_key=None,
):
    """What `POST /api/notifications` and GraphQL's `createNotification` do with a loaded
    `NotificationCreateSchema` body: notify one user (`userId`, idempotently with a key),
    or a topic's or a user's followers. Returns `(notification, replayed, job)`: the
    notification to a user, or the fan-out job of an audience."""
    content = {"message": body["message"], "type": body.get("type"), "data": body.get("data")}
    if body.get("userId"):
        notification, replayed = notifications.create_notification(
            sender_id=sender_id,
            user_id=body["userId"],
            idempotency_key=idempotency_key,
            key_ttl=key_ttl,
            outbox=outbox,
            **content,
        )
        return notification, replayed, None
    job, _ = notify_audience(
        sender_id=sender_id,
        is_admin=is_admin,
        topic=body.get("topic"),
        followers_of=body.get("followers_of"),
        include_sender=body["include_sender"],
        outbox=outbox,
        worker=worker,
        sync_limit=sync_limit,
        batch_size=batch_size,
        **content,
    )
    return None, False, job


def notify_audience(
    *,
    sender_id,
    is_admin,
    outbox: Outbox,
    worker,
    message,
    topic=None,
    followers_of=None,
    type=None,
    data=None,
    include_sender=False,
    sync_limit,
    batch_size,
):
    """Notify every member of a topic (its owner or an admin) or of a user's followers
    (that user or an admin). Returns `(job, done)`: a small audience is written
    before returning (`done`), a larger one by the instances' fan-out workers."""
    if topic is not None:
        audience, ref = TOPIC, _owned_topic(topic, user_id=sender_id, is_admin=is_admin).id
    else:
        if not is_uuid(followers_of) or not User.exists(followers_of):
            raise NotFound("No such user.", errors={"followersOf": ["No user has this id."]})
        if followers_of != sender_id and not is_admin:
            raise Forbidden("Only they (or an admin) may notify a user's followers.")
        audience, ref = FOLLOWERS, followers_of
    job = fanout.new_job(
        sender_id=sender_id,
        audience=audience,
        ref=ref,
        message=message,
        type=type,
        data=data,
        include_sender=include_sender,
        writer=worker.instance_id,
        lease=worker.lease,
        sync_limit=sync_limit,
    )
    return start(job, outbox=outbox, worker=worker, batch_size=batch_size)


def start(job, *, outbox: Outbox, worker, batch_size):
    """Write a job this instance owns now (a small one); wake the workers for others."""
    if job.owner != worker.instance_id:
        worker.wake()
        return job, False
    fanout.run(
        job, outbox, instance_id=worker.instance_id, batch_size=batch_size, lease=worker.lease
    )
    job.reload()
    return job, True


def job_of(*, job_id, user_id, is_admin, outbox: Outbox):
    """A fan-out job as `job_view` shows it, for its sender or an admin (else 404)."""
    job = FanoutJob.objects(id=job_id).first() if is_uuid(job_id) else None
    if job is None or (job.sender_id != user_id and not is_admin):
        raise NotFound("No such fan-out.")
    return job_view(job, outbox)


def job_view(job, outbox: Outbox):
    """The job with how far it got: `written` (members whose notification is saved or
    being saved) and `delivered` (of those, taken by the broker: their outbox entry
    is gone). Counted while the job runs rather than kept on it, as its writer and
    relays would otherwise update one document at once, which FerretDB does not do
    atomically; kept on the job once done (`fanout._finish`)."""
    written = job.written
    if written is None:  # still running: its claims so far
        written = FanoutClaim.objects(job_id=job.id).count()
        # Finishing keeps the count before it drops the claims: a count that saw them
        # going came after it, so read again.
        finished = FanoutJob.objects(id=job.id).only("written").first()
        if finished is not None and finished.written is not None:
            written = finished.written
    return {
        "id": job.id,
        "audience": job.audience,
        "audience_ref": job.audience_ref,
        "state": job.state,
        "total": job.total,
        "written": written,
        "delivered": max(0, written - outbox.fanout_pending(job.id)),
        "created_at": job.created_at,
        "finished_at": job.finished_at,
    }


def delete_audiences_of(_app, *, user_id):
    """`signals.user_deleted`: the user's subscriptions, and the topics they owned."""
    Subscription.objects(user_id=user_id).delete()
    for topic in Topic.objects(owner_id=user_id).only("id"):
        Subscription.objects(topic=topic.id).delete()
        topic.delete()
