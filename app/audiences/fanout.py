"""Fan-out: one notification to every member of an audience, in batches, surviving crashes.

Notifying an audience is one request: it records a `FanoutJob` and, for a small
audience, writes it at once; a large one is written in the background by the
`FanoutWorker` of some instance. Each batch takes the next members in user id
order, claims each of them for the job (`FanoutClaim`, whose `_id` is unique:
a recipient is claimed once, with the id its notification gets), then
announces and saves their notifications through the outbox like any other,
and moves the job's cursor on. An instance killed mid-batch leaves a job whose
lease expires; another instance takes it over from its cursor, and a member
already claimed gets the notification the claim names, if it is not saved yet,
and nothing more: every member gets exactly one copy.
"""

import logging
from collections import deque
from datetime import timedelta

import pymongo.errors

from app.audiences.models import TOPIC, FanoutClaim, FanoutJob, Subscription
from app.clock import now
from app.concurrency import BackgroundLoop
from app.database import DATABASE_ERRORS
from app.notifications.models import Notification
from app.notifications.ports import Outbox
from app.relations import service as relations
from app.relations.models import Follow

logger = logging.getLogger(__name__)
DUPLICATE_KEY = 11000
READ_AHEAD = 10_000  # member ids read per query (~1 MB), handed out a batch at a time


class Members:
    """The members of a job's audience after its cursor, in user id order, page by page.

    Read ahead `READ_AHEAD` ids per query and handed out `page_size` at a time: a
    query per page cost, on FerretDB/SQLite (which filters and sorts all but
    `_id` in Go), a scan of every subscription for every page of 500, and the
    fan-out to 100,000 took 586 s (bench.audience). One query left open for the
    whole run instead held SQLite's read snapshot so long that the store
    stalled; this reads each window at once, and memory stays one window.
    """

    def __init__(self, job, page_size):
        self.page_size, self._last = page_size, job.cursor
        if job.audience == TOPIC:
            self._collection, self._field = Subscription._get_collection(), "user_id"
            self._query = {"topic": job.audience_ref}
        else:
            self._collection, self._field = Follow._get_collection(), "follower"
            self._query = {"followed": job.audience_ref}
        self._ahead, self._ended = deque(), False

    def next_page(self):
        """The next up to `page_size` user ids; empty at the end."""
        if len(self._ahead) < self.page_size and not self._ended:
            self._read_ahead()
        return [self._ahead.popleft() for _ in range(min(self.page_size, len(self._ahead)))]

    def _read_ahead(self):
        query = {**self._query, self._field: {"$gt": self._last}}
        rows = self._collection.find(query, {self._field: 1, "_id": 0})
        ids = [row[self._field] for row in rows.sort(self._field, 1).limit(READ_AHEAD)]
        self._ended = len(ids) < READ_AHEAD
        if ids:
            self._last = ids[-1]
            self._ahead.extend(ids)


def audience_size(audience, ref):
    if audience == TOPIC:
        return Subscription.objects(topic=ref).count()
    return Follow.objects(followed=ref).count()


def write_batch(job, outbox: Outbox, members):
    """Write `members`, the next batch of `job`; returns how many it covered (0: done)."""
    if not members:
        _finish(job)
        return 0
    skipped = relations.blockers_among(sender_id=job.sender_id, recipient_ids=members)
    if not job.include_sender:
        skipped.add(job.sender_id)
    recipients = [m for m in members if m not in skipped]
    written = _notify(job, recipients, outbox) if recipients else 0
    FanoutJob.objects(id=job.id).update_one(
        set__cursor=members[-1], set__lease_until=job.lease_until
    )
    job.cursor = members[-1]
    logger.debug("Fan-out %s: %d written up to %s", job.id, written, job.cursor)
    return len(members)


def _finish(job):
    """Mark `job` done, keeping how many it wrote, and drop its claims.

    A claim guards a recipient only while its batch is being written: once the
    cursor is past it, no try of this job reads it again, so a finished job's
    claims (one per recipient, 100,000 for a large audience) would only pile up.
    The count is kept first, so a takeover after a crash in between keeps it.
    """
    if job.written is None:
        job.written = FanoutClaim.objects(job_id=job.id).count()
        FanoutJob.objects(id=job.id).update_one(set__written=job.written)
    FanoutClaim.objects(job_id=job.id).delete()
    FanoutJob.objects(id=job.id).update_one(set__state="done", set__finished_at=now())
    job.state = "done"


def _notify(job, recipients, outbox: Outbox):
    """Claim `recipients` for the job and save the notifications of those it claimed
    now, or claimed before without saving them (an instance died in between)."""
    with outbox.new_ids(len(recipients)) as ids:
        planned = dict(zip(recipients, ids, strict=True))
        earlier = _claim(job.id, planned)  # (`planned` now names the earlier claims' ids)
        saved_before = {i for i in earlier if Notification.objects(id=i).only("id").first()}
        todo = sorted(
            ((notification_id, user_id) for user_id, notification_id in planned.items()),
        )
        todo = [(i, user_id) for i, user_id in todo if i not in saved_before]
        if not todo:
            return len(saved_before)
        with outbox.creating(*(earlier - saved_before)):
            batch = [
                Notification(
                    id=notification_id,
                    user_id=user_id,
                    sender_id=job.sender_id,
                    message=job.message,
                    type=job.type,
                    data=job.data,
                )
                for notification_id, user_id in todo
            ]
            outbox.announce([n.id for n in batch], fanout_id=job.id)
            Notification.objects.insert(batch, load_bulk=False)
    outbox.saved(batch)
    # A retried batch was not counted before (the cursor moves with the count).
    return len(batch) + len(saved_before)


def _claim(job_id, planned):
    """Claim each recipient of `planned` ({user id: notification id}) for the job.

    A recipient claimed before (by a try that died) keeps that claim: `planned`
    is changed to its notification id, and those ids are returned.
    """
    users = list(planned)
    docs = [
        {"_id": FanoutClaim.key(job_id, u), "job_id": job_id, "notification_id": planned[u]}
        for u in users
    ]
    collection = FanoutClaim._get_collection()
    try:
        collection.insert_many(docs, ordered=False)
        return set()
    except pymongo.errors.BulkWriteError as error:
        failures = error.details["writeErrors"]
        if any(failure["code"] != DUPLICATE_KEY for failure in failures):
            raise
    earlier = set()
    for failure in failures:  # few: only after a crash, so one lookup each
        user = users[failure["index"]]
        claim = collection.find_one({"_id": docs[failure["index"]]["_id"]})
        planned[user] = claim["notification_id"]
        earlier.add(claim["notification_id"])
    return earlier


def claim_job(instance_id, lease):
    """A running job for this instance: its own, or one whose lease ran out."""
    moment = now()
    collection = FanoutJob._get_collection()
    doc = collection.find_one_and_update(
        {
            "state": "running",
            # Its own, nobody's yet, or one whose writer stopped renewing its lease.
            "$or": [
                {"owner": instance_id},
                {"owner": None},
                {"lease_until": {"$lt": moment}},
            ],
        },
        {"$set": {"owner": instance_id, "lease_until": moment + timedelta(seconds=lease)}},
        sort=[("_id", 1)],
        return_document=True,
    )
    return None if doc is None else FanoutJob._from_son(doc)


def run(job, outbox: Outbox, *, instance_id, batch_size, lease):
    """Write `job` to the end, renewing its lease per batch; False if it was taken over."""
    members = Members(job, batch_size)
    while job.state == "running":
        job.lease_until = now() + timedelta(seconds=lease)
        still_ours = FanoutJob.objects(id=job.id, owner=instance_id).update_one(
            set__lease_until=job.lease_until
        )
        if not still_ours:
            return False
        write_batch(job, outbox, members.next_page())
    return True


class FanoutWorker(BackgroundLoop):
    """Writes this instance's fan-out jobs, and those instances left behind."""

    name = "herald-fanout"
    transient_errors = DATABASE_ERRORS

    def __init__(self, outbox: Outbox, *, instance_id, batch_size, lease, poll_interval):
        super().__init__(poll_interval)
        self.outbox, self.instance_id = outbox, instance_id
        self.batch_size, self.lease = batch_size, lease

    def work(self) -> bool:
        """Write one job to its end; True when there was one (another may wait)."""
        job = claim_job(self.instance_id, self.lease)
        if job is None:
            return False
        run(
            job,
            self.outbox,
            instance_id=self.instance_id,
            batch_size=self.batch_size,
            lease=self.lease,
        )
        return True


def new_job(
    *,
    sender_id,
    audience,
    ref,
    message,
    type=None,
    data=None,
    include_sender=False,
    writer=None,
    lease=None,
    sync_limit=0,
):
    """Record a fan-out job, running; returns it.

    One of at most `sync_limit` members is owned by `writer` (the instance of
    the request, which writes it at once) from the start, so no fan-out worker
    takes it meanwhile; a larger one is nobody's until a worker claims it.
    """
    total = audience_size(audience, ref)
    if not include_sender and _is_member(audience, ref, sender_id):
        total -= 1
    small = writer is not None and total <= sync_limit
    job = FanoutJob(
        owner=writer if small else None,
        lease_until=now() + timedelta(seconds=lease) if small else None,
        sender_id=sender_id,
        audience=audience,
        audience_ref=ref,
        include_sender=include_sender,
        message=message,
        type=type,
        data=data,
        total=total,
    )
    job.save(force_insert=True)
    return job


def _is_member(audience, ref, user_id):
    if audience == TOPIC:
        return Subscription.objects(id=Subscription.key(ref, user_id)).first() is not None
    return False  # nobody follows themselves
