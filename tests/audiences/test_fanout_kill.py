"""A fan-out survives the SIGKILL of the instance writing it: every member once (issue 15).

A gunicorn Herald writes a topic notification to 3,000 members in batches of
20; it is killed when part is written. A second instance takes the job over
once its lease expires, and in the end each member has exactly one copy, and
the job says all were written and handed to the broker.
"""

import datetime as dt
import uuid

import pymongo
import pytest

from tests.support.clients import Api, wait_until
from tests.support.processes import HeraldProcess, herald_env

pytestmark = pytest.mark.slow
MEMBERS = 3000


def insert_members(mongodb_uri, topic, count):
    """Users and their subscriptions, inserted in bulk (registering 3,000 takes minutes)."""
    now = dt.datetime.now(dt.UTC)
    run = uuid.uuid4().hex[:6]
    ids = [str(uuid.uuid4()) for _ in range(count)]
    users = [
        {
            "_id": user_id,
            "username": f"m{run}{n}",
            "email": f"m{run}{n}@example.test",
            "password_hash": "unused",
            "role": "user",
            "token_version": 0,
            "created_at": now,
        }
        for n, user_id in enumerate(ids)
    ]
    subscriptions = [
        {"_id": f"{topic}/{user_id}", "topic": topic, "user_id": user_id, "created_at": now}
        for user_id in ids
    ]
    with pymongo.MongoClient(mongodb_uri, uuidRepresentation="standard") as client:
        database = client.get_default_database()
        database.users.insert_many(users, ordered=False)
        database.subscriptions.insert_many(subscriptions, ordered=False)
    return ids


def test_a_killed_instances_fanout_is_finished_by_another_with_one_copy_each(mongodb_uri):
    env = herald_env(
        mongodb_uri,
        JWT_SECRET_KEY="fanout-kill-test-secret-0123456789abcdef",
        FANOUT_SYNC_LIMIT="0",
        FANOUT_BATCH_SIZE="20",
        FANOUT_LEASE="2",
        FANOUT_POLL_INTERVAL="0.2",
        OUTBOX_ORPHAN_AFTER="3",
        PRESENCE_TTL="2",
    )
    first = HeraldProcess(env).start()
    second = None
    try:
        api = Api(first.url)
        owner = api.register("owner")
        key = f"big-{uuid.uuid4().hex[:8]}"
        assert api.post("/api/topics", account=owner, json={"key": key, "name": "Big"}).ok
        insert_members(mongodb_uri, key, MEMBERS)
        text = f"to {MEMBERS} members {uuid.uuid4()}"
        accepted = api.post(
            "/api/notifications", account=owner, json={"topic": key, "message": text}
        )
        assert accepted.status_code == 202, accepted.text
        job_path = f"/api/fanouts/{accepted.json()['id']}"

        def written():
            return api.get(job_path, account=owner).json()["written"]

        assert wait_until(lambda: written() >= 200, 30, interval=0.02), "nothing was written"
        first.kill()  # mid-fan-out, maybe mid-batch
        with pymongo.MongoClient(mongodb_uri) as client:
            at_kill = client.get_default_database().notifications.count_documents({"message": text})
        assert at_kill < MEMBERS, "the fan-out finished before the kill: nothing was shown"

        second = HeraldProcess(env).start()
        api = Api(second.url)

        def finished():
            job = api.get(job_path, account=owner).json()
            return job if job["state"] == "done" and job["delivered"] == MEMBERS else None

        job = wait_until(finished, 90, interval=0.5)
        assert job, api.get(job_path, account=owner).json()
        assert job["written"] == MEMBERS and job["total"] == MEMBERS
        with pymongo.MongoClient(mongodb_uri) as client:
            notifications = client.get_default_database().notifications
            assert notifications.count_documents({"message": text}) == MEMBERS
            copies = notifications.aggregate(
                [
                    {"$match": {"message": text}},
                    {"$group": {"_id": "$user_id", "n": {"$sum": 1}}},
                    {"$match": {"n": {"$gt": 1}}},
                ]
            )
            assert list(copies) == [], "a member got two copies"
    finally:
        first.kill()
        if second is not None:
            second.stop()
