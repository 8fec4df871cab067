"""Topics, follows and posts (issue 15) against a running Herald: who may do what, and
every member of an audience notified once, live."""

import uuid

import pytest

from app.audiences import fanout
from app.audiences.models import FanoutClaim
from tests.support.clients import Api, wait_until


def create_topic(api, owner, key=None, name="Releases"):
    key = key or f"t-{uuid.uuid4().hex[:10]}"
    response = api.post("/api/topics", account=owner, json={"key": key, "name": name})
    assert response.status_code == 201, response.text
    return response.json()


def ready(socket_):
    assert socket_.receive_type("ready", timeout=5) is not None
    return socket_


def notify(api, sender, **body):
    return api.post("/api/notifications", account=sender, json={"message": "to all", **body})


def test_topics_are_created_listed_joined_and_left(api, alice, bob):
    topic = create_topic(api, alice)
    assert topic["ownerId"] == alice.id and topic["subscriberCount"] == 0
    again = api.post("/api/topics", account=bob, json={"key": topic["key"], "name": "x"})
    assert again.status_code == 409 and again.json()["code"] == 409
    for bad in ("Upper", "with space", "", "-lead"):
        refused = api.post("/api/topics", account=bob, json={"key": bad, "name": "x"})
        assert refused.status_code == 422, bad

    path = f"/api/topics/{topic['key']}/subscription"
    assert api.put(path, account=bob).status_code == 204
    assert api.put(path, account=bob).status_code == 204  # idempotent
    listed = api.get("/api/topics", account=bob, params={"subscribed": "true"}).json()
    mine = [t for t in listed["items"] if t["key"] == topic["key"]]
    assert mine and mine[0]["subscriberCount"] == 1 and mine[0]["subscribed"] is True
    assert api.delete(path, account=bob).status_code == 204
    listed = api.get("/api/topics", account=bob, params={"subscribed": "true"}).json()
    assert topic["key"] not in [t["key"] for t in listed["items"]]
    assert api.put("/api/topics/no-such-topic/subscription", account=bob).status_code == 404


def test_only_the_owner_or_an_admin_manages_subscribers(api, alice, bob, admin):
    carol = api.register("carol")
    topic = create_topic(api, alice)
    subscribers = f"/api/topics/{topic['key']}/subscribers"
    added = api.post(subscribers, account=alice, json={"userIds": [bob.id, carol.id]})
    assert added.status_code == 200 and added.json() == {"count": 2}
    for outsider in (bob, carol):
        for method in ("get", "post", "delete"):
            kwargs = {} if method == "get" else {"json": {"userIds": [carol.id]}}
            response = getattr(api, method)(subscribers, account=outsider, **kwargs)
            assert response.status_code == 403, (method, response.text)
    listed = api.get(subscribers, account=admin).json()
    assert {u["id"] for u in listed["items"]} == {bob.id, carol.id}
    unknown = api.post(subscribers, account=alice, json={"userIds": [str(uuid.uuid4())]})
    assert unknown.status_code == 404
    removed = api.delete(subscribers, account=alice, json={"userIds": [carol.id]})
    assert removed.json() == {"count": 1}
    assert [u["id"] for u in api.get(subscribers, account=alice).json()["items"]] == [bob.id]
    assert api.delete(f"/api/topics/{topic['key']}", account=bob).status_code == 403


def test_a_topic_notification_reaches_every_subscriber_once_live_but_the_sender(
    server, api, alice, bob, sockets
):
    carol, dave = api.register("carol"), api.register("dave")
    topic = create_topic(api, alice)
    api.post(
        f"/api/topics/{topic['key']}/subscribers",
        account=alice,
        json={"userIds": [alice.id, bob.id, carol.id]},
    )
    watching = {a.id: ready(sockets(server.url, a)) for a in (alice, bob, carol, dave)}

    response = notify(api, alice, topic=topic["key"], type="release", data={"v": 2})
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["total"] == 2 and job["state"] == "done" and job["written"] == 2
    assert response.headers["Location"].endswith(f"/api/fanouts/{job['id']}")
    for member in (bob, carol):
        frame = watching[member.id].receive_type("notification", timeout=5)
        assert frame is not None and frame["data"]["userId"] == member.id
        assert frame["data"]["type"] == "release" and frame["data"]["data"] == {"v": 2}
        assert watching[member.id].drain(0.5) == []
        inbox = api.get("/api/notifications", account=member).json()["items"]
        assert [n["message"] for n in inbox] == ["to all"]
    for outside in (alice, dave):
        assert watching[outside.id].drain(0.3) == []
    job_path = f"/api/fanouts/{job['id']}"
    assert wait_until(lambda: api.get(job_path, account=alice).json()["delivered"] == 2, 5), (
        api.get(job_path, account=alice).json()
    )
    assert api.get(f"/api/fanouts/{job['id']}", account=bob).status_code == 404

    with_sender = notify(api, alice, topic=topic["key"], includeSender=True).json()
    assert with_sender["total"] == 3
    assert watching[alice.id].receive_type("notification", timeout=5) is not None
    assert notify(api, bob, topic=topic["key"]).status_code == 403  # only its owner
    assert notify(api, alice, topic="no-such-topic").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"topic": "x", "userId": "y"},
        {"followersOf": "x", "topic": "y"},
        {},
    ],
)
def test_one_kind_of_recipient_exactly(api, alice, body):
    response = notify(api, alice, **body)
    assert response.status_code == 422 and "userId" in response.json()["errors"]["json"]


def test_follows_are_idempotent_counted_and_listed(api, alice, bob):
    carol = api.register("carol")
    for follower in (bob, carol):
        assert api.put(f"/api/users/{alice.id}/follow", account=follower).status_code == 204
    assert api.put(f"/api/users/{alice.id}/follow", account=bob).status_code == 204
    assert api.put(f"/api/users/{alice.id}/follow", account=alice).status_code == 422
    assert api.put(f"/api/users/{uuid.uuid4()}/follow", account=bob).status_code == 404
    profile = api.get(f"/api/users/{alice.id}/profile", account=bob).json()
    assert profile["followersCount"] == 2 and profile["followingCount"] == 0
    assert profile["followedByMe"] is True
    followers = api.get(f"/api/users/{alice.id}/followers", account=bob).json()
    assert [u["id"] for u in followers["items"]] == [carol.id, bob.id]  # newest first
    following = api.get(f"/api/users/{bob.id}/following", account=alice).json()
    assert [u["id"] for u in following["items"]] == [alice.id]
    assert api.delete(f"/api/users/{alice.id}/follow", account=bob).status_code == 204
    assert api.delete(f"/api/users/{alice.id}/follow", account=bob).status_code == 204
    assert api.get(f"/api/users/{alice.id}/profile", account=carol).json()["followersCount"] == 1


def test_a_users_followers_are_an_audience_for_that_user_or_an_admin(api, alice, bob, admin):
    carol = api.register("carol")
    api.put(f"/api/users/{alice.id}/follow", account=bob)
    assert notify(api, carol, followersOf=alice.id).status_code == 403
    assert notify(api, admin, followersOf=alice.id).status_code == 202
    job = notify(api, alice, followersOf=alice.id).json()
    assert job["total"] == 1 and job["state"] == "done"
    assert len(api.get("/api/notifications", account=bob).json()["items"]) == 2
    assert api.get("/api/notifications", account=carol).json()["items"] == []


def test_a_post_notifies_its_authors_followers_live_and_is_found(
    server, api, alice, bob, admin, sockets
):
    carol = api.register("carol")
    api.put(f"/api/users/{alice.id}/follow", account=bob)
    bobs, carols = ready(sockets(server.url, bob)), ready(sockets(server.url, carol))

    created = api.post("/api/posts", account=alice, json={"text": "Shipping Herald 2 today"})
    assert created.status_code == 201, created.text
    post = created.json()
    assert post["authorId"] == alice.id and post["fanoutId"]
    frame = bobs.receive_type("notification", timeout=5)
    assert frame["data"]["type"] == "post" and frame["data"]["data"]["postId"] == post["id"]
    assert frame["data"]["data"]["text"] == "Shipping Herald 2 today"
    assert carols.drain(0.5) == [], "not a follower"

    api.post("/api/posts", account=carol, json={"text": "unrelated"})
    found = api.get("/api/posts", account=bob, params={"q": "herald SHIPPING"}).json()
    assert [p["id"] for p in found["items"]] == [post["id"]]
    by_author = api.get("/api/posts", account=bob, params={"author": alice.id}).json()
    assert [p["id"] for p in by_author["items"]] == [post["id"]]
    assert api.get(f"/api/posts/{post['id']}", account=carol).json() == post
    assert post["authorName"] == alice.username
    for bad in ({"text": ""}, {"text": "x" * 501}, {}):
        assert api.post("/api/posts", account=alice, json=bad).status_code == 422
    assert api.get("/api/posts", account=bob, params={"q": "(.*"}).status_code == 200

    assert api.delete(f"/api/posts/{post['id']}", account=bob).status_code == 403
    assert api.get(f"/api/posts/{post['id']}", account=bob).status_code == 200
    assert api.delete(f"/api/posts/{post['id']}", account=alice).status_code == 204
    assert api.get(f"/api/posts/{post['id']}", account=bob).status_code == 404
    other = api.post("/api/posts", account=carol, json={"text": "mine"}).json()
    assert api.delete(f"/api/posts/{other['id']}", account=admin).status_code == 204


def test_a_large_audience_is_written_in_the_background_in_batches(own_server, sockets, monkeypatch):
    # Members are read 6 at a time and written 4 at a time: pages straddle the reads.
    monkeypatch.setattr(fanout, "READ_AHEAD", 6)
    live = own_server(FANOUT_SYNC_LIMIT=5, FANOUT_BATCH_SIZE=4, FANOUT_POLL_INTERVAL=0.2)
    api = Api(live.url)
    owner = api.register("owner")
    members = [api.register("member") for _ in range(13)]
    topic = create_topic(api, owner)
    api.post(
        f"/api/topics/{topic['key']}/subscribers",
        account=owner,
        json={"userIds": [m.id for m in members]},
    )
    watcher = ready(sockets(live.url, members[0]))
    response = notify(api, owner, topic=topic["key"])
    assert response.status_code == 202 and response.json()["total"] == 13
    job_path = f"/api/fanouts/{response.json()['id']}"

    def finished():
        job = api.get(job_path, account=owner).json()
        return job["state"] == "done" and job["delivered"] == 13 and job

    job = wait_until(finished, 15)
    assert job, api.get(job_path, account=owner).json()
    assert job["written"] == 13
    # The claims guarded the batches while they were written; done, they are gone.
    assert FanoutClaim.objects(job_id=job["id"]).count() == 0
    assert watcher.receive_type("notification", timeout=5) is not None
    for member in members:
        assert len(api.get("/api/notifications", account=member).json()["items"]) == 1
