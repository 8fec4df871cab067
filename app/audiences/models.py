"""Stored topics, subscriptions and fan-out jobs."""

import mongoengine as me

from app.clock import now
from app.ids import new_id

JOB_STATES = ("running", "done")
TOPIC, FOLLOWERS = "topic", "followers"  # the kinds of audience


class Topic(me.Document):
    """A named audience; its creator owns it (admins own every topic)."""

    id = me.StringField(primary_key=True)  # the key, e.g. "releases"
    name = me.StringField(required=True, max_length=100)
    owner_id = me.StringField(required=True)
    created_at = me.DateTimeField(required=True, default=now)

    meta = {"collection": "topics", "indexes": ["owner_id"]}


class Subscription(me.Document):
    id = me.StringField(primary_key=True)  # "<topic key>/<user id>": one per pair
    topic = me.StringField(required=True)
    user_id = me.StringField(required=True)
    created_at = me.DateTimeField(required=True, default=now)

    meta = {"collection": "subscriptions", "indexes": [("topic", "user_id"), "user_id"]}

    @staticmethod
    def key(topic, user_id):
        return f"{topic}/{user_id}"


class FanoutJob(me.Document):
    """One notification to every member of an audience, written in batches.

    Recipients are taken in user id order after `cursor`, so a job that an
    instance left half done is finished by another from where it stopped; each
    recipient is claimed once (`FanoutClaim`), so none gets two copies.
    """

    id = me.StringField(primary_key=True, default=new_id)
    sender_id = me.StringField(required=True)
    audience = me.StringField(required=True, choices=(TOPIC, FOLLOWERS))
    audience_ref = me.StringField(required=True)  # the topic key, or whose followers
    include_sender = me.BooleanField(default=False)
    message = me.StringField(required=True)
    type = me.StringField()
    data = me.DictField(default=None, null=True)
    total = me.IntField(required=True, default=0)  # members when it was accepted
    # How many were written is counted while it runs, not kept here: FerretDB loses
    # concurrent `$inc`s of one document (see `app.audiences.service.job_view`).
    # Once the last batch is written, the count is kept here and the claims go.
    written = me.IntField()
    cursor = me.StringField(default="")  # the last recipient written
    state = me.StringField(required=True, choices=JOB_STATES, default="running")
    owner = me.StringField()  # the instance writing it
    lease_until = me.DateTimeField()  # ... until then; after, another takes over
    created_at = me.DateTimeField(required=True, default=now)
    finished_at = me.DateTimeField()

    meta = {"collection": "fanout_jobs", "indexes": [("state", "lease_until"), "sender_id"]}


class FanoutClaim(me.Document):
    """Recipient `user_id` of job `job_id` gets notification `notification_id`, once."""

    id = me.StringField(primary_key=True)  # "<job id>/<user id>"
    job_id = me.StringField(required=True)
    notification_id = me.StringField(required=True)

    meta = {"collection": "fanout_claims", "indexes": ["job_id"]}

    @staticmethod
    def key(job_id, user_id):
        return f"{job_id}/{user_id}"
