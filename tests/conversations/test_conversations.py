"""Direct messages (issue 16) against a running Herald: the API, live delivery to both
participants, receipts, typing, resume, offline notifications and blocking.

Across two gunicorn instances on Kafka and RabbitMQ: tests/realtime/test_brokered_delivery.py.
"""

import uuid

import pytest

from tests.support.clients import wait_until


def send(api, sender, recipient, text="hi", **kwargs):
    response = api.post(
        f"/api/conversations/{recipient.id}/messages", account=sender, json={"text": text}, **kwargs
    )
    assert response.status_code == 201, response.text
    return response.json()


def ready(socket_):
    frame = socket_.receive_type("ready", timeout=5)
    assert frame is not None
    return frame["data"]


def test_a_message_reaches_every_socket_of_both_participants_and_no_one_else(
    server, api, alice, bob, sockets
):
    carol = api.register("carol")
    alices = [sockets(server.url, alice), sockets(server.url, alice)]
    bobs = [sockets(server.url, bob)]
    carols = sockets(server.url, carol)
    for socket_ in [*alices, *bobs, carols]:
        ready(socket_)

    sent = send(api, alice, bob, "lunch?")
    assert sent["senderId"] == alice.id and sent["recipientId"] == bob.id
    assert sent["text"] == "lunch?" and sent["readAt"] is None
    for socket_, owner in [(alices[0], alice), (alices[1], alice), (bobs[0], bob)]:
        frame = socket_.receive_type("message", timeout=5)
        assert frame is not None and frame["data"] == sent and frame["for"] == owner.id
        assert socket_.drain(0.5) == [], "a socket got the message twice"
    assert carols.drain(0.3) == []


def test_history_pages_both_ways_and_the_list_shows_the_newest_activity_first(api, alice, bob):
    carol = api.register("carol")
    texts = [f"m{i}" for i in range(7)]
    sent = [
        send(api, alice if i % 2 else bob, bob if i % 2 else alice, t) for i, t in enumerate(texts)
    ]
    send(api, carol, alice, "from carol")  # newest activity: carol's conversation

    path = f"/api/conversations/{bob.id}/messages"
    newest = api.get(path, account=alice, params={"limit": 3}).json()
    assert [m["text"] for m in newest["items"]] == ["m4", "m5", "m6"]
    assert newest["meta"] == {"hasOlder": True, "hasNewer": False}
    older = api.get(path, account=alice, params={"limit": 3, "before": newest["items"][0]["id"]})
    assert [m["text"] for m in older.json()["items"]] == ["m1", "m2", "m3"]
    assert older.json()["meta"] == {"hasOlder": True, "hasNewer": True}
    oldest = api.get(path, account=alice, params={"limit": 3, "before": sent[1]["id"]}).json()
    assert [m["text"] for m in oldest["items"]] == ["m0"] and oldest["meta"]["hasOlder"] is False
    newer = api.get(path, account=alice, params={"limit": 2, "after": sent[2]["id"]}).json()
    assert [m["text"] for m in newer["items"]] == ["m3", "m4"]
    assert newer["meta"] == {"hasOlder": True, "hasNewer": True}
    from_bob = api.get(f"/api/conversations/{alice.id}/messages", account=bob).json()
    assert from_bob["items"] == api.get(path, account=alice).json()["items"]

    listed = api.get("/api/conversations", account=alice).json()
    assert [c["user"]["id"] for c in listed["items"]] == [carol.id, bob.id]
    with_bob = listed["items"][1]
    assert with_bob["user"] == {"id": bob.id, "username": bob.username}
    assert with_bob["lastMessage"]["text"] == "m6"
    assert with_bob["unreadCount"] == 4  # m0, m2, m4 and m6 are bob's to alice
    assert listed["meta"]["total"] == 2


def test_reading_marks_up_to_a_message_and_the_sender_gets_the_receipt(
    server, api, alice, bob, sockets
):
    alice_socket, bob_other_tab = sockets(server.url, alice), sockets(server.url, bob)
    for socket_ in (alice_socket, bob_other_tab):
        ready(socket_)
    first, second, third = (send(api, alice, bob, t) for t in ("a", "b", "c"))
    for socket_ in (alice_socket, bob_other_tab):
        assert len([f for f in socket_.drain(1.0) if f["type"] == "message"]) == 3

    read = api.put(f"/api/conversations/{alice.id}/read", account=bob, json={"upTo": second["id"]})
    assert read.status_code == 200 and read.json() == {"count": 2, "upTo": second["id"]}
    for socket_ in (alice_socket, bob_other_tab):
        receipt = socket_.receive_type("message.read", timeout=5)
        assert receipt is not None
        assert receipt["data"]["readerId"] == bob.id and receipt["data"]["senderId"] == alice.id
        assert receipt["data"]["upTo"] == second["id"] and receipt["data"]["readAt"]
    history = api.get(f"/api/conversations/{alice.id}/messages", account=bob).json()["items"]
    assert [m["readAt"] is not None for m in history] == [True, True, False]
    listed = api.get("/api/conversations", account=bob).json()["items"][0]
    assert listed["unreadCount"] == 1 and listed["lastMessage"]["id"] == third["id"]

    # Reading an older message again changes nothing; what was read stays read.
    again = api.put(f"/api/conversations/{alice.id}/read", account=bob, json={"upTo": first["id"]})
    assert again.json() == {"count": 0, "upTo": second["id"]}
    for body in ({"upTo": str(uuid.uuid4())}, {"upTo": "nope"}):
        assert (
            api.put(f"/api/conversations/{alice.id}/read", account=bob, json=body).status_code
            == 404
        )
    assert api.put(f"/api/conversations/{alice.id}/read", account=bob, json={}).status_code == 422


@pytest.mark.parametrize(
    "body", [{"text": ""}, {"text": "x" * 4001}, {}, {"text": 5}, {"text": "hi", "extra": 1}]
)
def test_an_invalid_message_is_422_and_sends_nothing(api, alice, bob, body):
    response = api.post(f"/api/conversations/{bob.id}/messages", account=alice, json=body)
    assert response.status_code == 422 and response.json()["code"] == 422
    assert api.get(f"/api/conversations/{bob.id}/messages", account=alice).json()["items"] == []


def test_messaging_nobody_or_oneself_is_refused(api, alice):
    for target, status in ((str(uuid.uuid4()), 404), ("not-a-user", 404), (alice.id, 422)):
        response = api.post(
            f"/api/conversations/{target}/messages", account=alice, json={"text": "hi"}
        )
        assert response.status_code == status, (target, response.text)
        assert set(response.json()) == {"code", "status", "message", "errors"}
    assert api.get("/api/conversations", account=alice).json()["items"] == []


def test_an_idempotency_key_sends_once(api, alice, bob):
    headers = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    first = send(api, alice, bob, "once", headers=headers)
    path = f"/api/conversations/{bob.id}/messages"
    again = api.post(path, account=alice, json={"text": "once"}, headers=headers)
    assert again.status_code == 201 and again.json() == first
    assert again.headers["Idempotent-Replayed"] == "true"
    other = api.post(path, account=alice, json={"text": "else"}, headers=headers)
    assert other.status_code == 422
    assert len(api.get(path, account=alice).json()["items"]) == 1


def test_a_reconnect_with_since_gets_the_missed_messages_and_notifications_in_order_once(
    server, api, alice, bob, sockets
):
    socket_ = sockets(server.url, bob)
    ready(socket_)
    seen = send(api, alice, bob, "seen")
    assert socket_.receive_type("message", timeout=5)["data"]["id"] == seen["id"]
    socket_.close()
    assert wait_until(lambda: not server.node.hub.sessions_of(bob.id), 5)

    messages = [send(api, alice, bob, "missed 1")["id"]]
    meanwhile = api.notify(alice, bob, "a notification meanwhile")["id"]
    messages.append(send(api, bob, alice, "sent from bob's phone")["id"])
    # Bob being offline, alice's message also made him a notification.
    notifications = [n["id"] for n in api.get("/api/notifications", account=bob).json()["items"]]
    assert meanwhile in notifications and len(notifications) == 2

    resumed = sockets(server.url, bob, since=seen["id"])
    frames = []
    while (frame := resumed.receive(5)) is not None:
        frames.append(frame)
        if frame["type"] == "ready":
            break
    ids = [f["data"]["id"] for f in frames[:-1]]
    assert ids == sorted(messages + notifications), "one order for both kinds"
    assert [f["data"]["id"] for f in frames if f["type"] == "message"] == messages
    assert frames[-1]["data"]["missed"] == 2 and frames[-1]["data"]["messages"] == 2
    assert resumed.drain(0.7) == [], "something came twice"


def test_typing_reaches_the_other_participant_only_throttled_and_never_stored(
    server, api, alice, bob, sockets
):
    carol = api.register("carol")
    alice_socket, bob_socket, carol_socket = (sockets(server.url, a) for a in (alice, bob, carol))
    for socket_ in (alice_socket, bob_socket, carol_socket):
        ready(socket_)
    for _ in range(3):  # one a second is passed on: these three make one
        alice_socket.send({"type": "typing", "to": bob.id})
    typing = bob_socket.receive_type("typing", timeout=5)
    assert typing["data"] == {"from": alice.id, "to": bob.id}
    assert bob_socket.drain(0.5) == []
    assert carol_socket.drain(0.3) == [] and alice_socket.drain(0.3) == []

    alice_socket.send({"type": "typing", "to": str(uuid.uuid4())})
    refused = alice_socket.receive_type("error", timeout=5)
    assert refused["error"]["code"] == 404
    assert api.get("/api/conversations", account=bob).json()["items"] == []


def test_a_message_to_someone_offline_becomes_one_notification_per_sender(
    server, api, alice, bob, sockets
):
    carol = api.register("carol")
    send(api, alice, bob, "are you there?")

    def message_notifications():
        items = api.get("/api/notifications", account=bob).json()["items"]
        return [n for n in items if n["type"] == "message"]

    assert wait_until(lambda: len(message_notifications()) == 1, 5)
    first = message_notifications()[0]
    assert first["senderId"] == alice.id and "are you there?" in first["message"]
    assert first["data"]["conversationWith"] == alice.id and first["data"]["count"] == 1

    send(api, alice, bob, "hello?")
    send(api, alice, bob, "ok, later")
    folded = message_notifications()
    assert len(folded) == 1 and folded[0]["id"] == first["id"], "one per sender while unread"
    assert folded[0]["data"]["count"] == 3 and "3 new messages" in folded[0]["message"]
    send(api, carol, bob, "hi from carol")
    assert len(message_notifications()) == 2

    socket_ = sockets(server.url, bob)  # online now: messages come live, no notification
    ready(socket_)
    assert wait_until(lambda: api.get("/api/users/me", account=bob).json()["connected"], 5)
    send(api, alice, bob, "there you are")
    assert socket_.receive_type("message", timeout=5) is not None
    from_alice = [n for n in message_notifications() if n["senderId"] == alice.id]
    assert [n["data"]["count"] for n in from_alice] == [3], "none more while bob is online"


def test_a_blocked_user_can_no_longer_message_notify_or_type_to_the_blocker(
    server, api, alice, bob, sockets
):
    alice_socket, bob_socket = sockets(server.url, alice), sockets(server.url, bob)
    for socket_ in (alice_socket, bob_socket):
        ready(socket_)
    send(api, alice, bob, "before the block")
    assert bob_socket.receive_type("message", timeout=5) is not None

    assert api.put(f"/api/users/{alice.id}/block", account=bob).status_code == 204
    assert api.put(f"/api/users/{alice.id}/block", account=bob).status_code == 204  # idempotent
    blocked = api.post(f"/api/conversations/{bob.id}/messages", account=alice, json={"text": "x"})
    assert blocked.status_code == 403 and blocked.json()["code"] == 403
    notify = api.post("/api/notifications", account=alice, json={"userId": bob.id, "message": "x"})
    assert notify.status_code == 403
    alice_socket.send({"type": "typing", "to": bob.id})
    assert alice_socket.receive_type("error", timeout=5)["error"]["code"] == 404
    assert [f["type"] for f in bob_socket.drain(0.7)] == []
    # The blocker may still write to the one they blocked; nothing else changed.
    send(api, bob, alice, "I can still write")
    listed = api.get("/api/users/me/blocks", account=bob).json()
    assert [b["userId"] for b in listed["items"]] == [alice.id]
    assert api.put(f"/api/users/{bob.id}/block", account=bob).status_code == 422
    assert api.put(f"/api/users/{uuid.uuid4()}/block", account=bob).status_code == 404

    assert api.delete(f"/api/users/{alice.id}/block", account=bob).status_code == 204
    send(api, alice, bob, "after the unblock")
    assert api.get("/api/users/me/blocks", account=bob).json()["items"] == []


def test_a_broadcast_skips_those_who_blocked_its_sender(api, admin, alice, bob):
    assert api.put(f"/api/users/{admin.id}/block", account=alice).status_code == 204
    body = {"userIds": [alice.id, bob.id], "message": "maintenance"}
    response = api.post("/api/notifications/broadcast", account=admin, json=body)
    assert response.status_code == 201 and response.json() == {"count": 1}
    assert api.get("/api/notifications", account=alice).json()["meta"]["total"] == 0
    assert api.get("/api/notifications", account=bob).json()["meta"]["total"] == 1
