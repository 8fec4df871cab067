"""Sending notifications by Web Push, through a live Herald, to the tests' push service.

The push service (tests/support/push_service.py) checks the VAPID signature and
decrypts each push with the subscription's private key: what a test reads back is
what a browser would have decrypted.
"""

import pytest
from py_vapid import Vapid
from pywebpush import WebPushException, webpush

from app.channels.push import payload, service
from app.channels.push.models import PushSend


def subscribed(api, account, push_service, server_key):
    subscription = push_service.subscribe(server_key)
    response = api.post("/api/push-subscriptions", account=account, json=subscription)
    assert response.status_code == 201, response.text
    return subscription["endpoint"]


def notification_for(api, sender, recipient, **fields):
    """A notification created over REST, as REST shows it to its recipient."""
    created = api.notify(sender, recipient, **fields)
    return api.get(f"/api/notifications/{created['id']}", account=recipient).json()


def send(herald, notification, user_id):
    """What the push channel's consumer does for one notification, in the live Herald."""
    with herald.app.app_context():
        return service.send_notification(notification, user_id)


def test_a_notification_reaches_the_push_service_decryptable(
    push_herald, push_api, push_service, server_key
):
    alice, bob = push_api.register("alice"), push_api.register("bob")
    endpoint = subscribed(push_api, bob, push_service, server_key)
    notification = notification_for(push_api, alice, bob, message="Lunch?", type="alert")

    outcome = send(push_herald, notification, bob.id)

    assert outcome.as_dict() == {
        "sent": 1,
        "already_sent": 0,
        "gone": 0,
        "failed": 0,
        "skipped": None,
    }
    [push] = push_service.received(endpoint)
    assert push.payload == {"type": "notification", "truncated": False, "data": notification}
    assert (push.ttl, push.urgency) == (600, "high")  # PUSH_TTL; "alert" is high by setting
    assert push.claims["sub"] == "mailto:ops@herald.test"
    assert push.claims["aud"] == push_service.url
    # Sending it again (a redelivered message) pushes nothing twice.
    assert send(push_herald, notification, bob.id).already_sent == 1
    assert len(push_service.received(endpoint)) == 1


def test_the_push_service_refuses_another_servers_signature(push_service, server_key):
    subscription = push_service.subscribe(server_key)
    impostor = Vapid()
    impostor.generate_keys()
    claims = {"sub": "mailto:mallory@example.test"}
    with pytest.raises(WebPushException) as refused:
        webpush(subscription, data="hi", vapid_private_key=impostor, vapid_claims=dict(claims))
    assert refused.value.status_code == 403  # not the key the subscription was made with

    # The right key in `k`, but the token signed by another: the signature fails.
    forged = impostor.sign({**claims, "aud": push_service.url})["Authorization"]
    token = forged.split("t=")[1].split(",")[0]
    headers = {"Authorization": f"vapid t={token},k={server_key}"}
    with pytest.raises(WebPushException) as refused:
        webpush(subscription, data="hi", headers=headers, ttl=60)
    assert refused.value.status_code == 401
    assert push_service.received(subscription["endpoint"]) == []
    assert [status for status, _ in push_service.refusals] == [403, 401]


def test_a_gone_subscription_is_deleted(push_herald, push_api, push_service, server_key):
    alice, bob = push_api.register("alice"), push_api.register("bob")
    endpoint = subscribed(push_api, bob, push_service, server_key)
    push_service.forget(endpoint)

    outcome = send(push_herald, notification_for(push_api, alice, bob), bob.id)

    assert (outcome.gone, outcome.sent) == (1, 0)
    assert push_api.get("/api/push-subscriptions", account=bob).json() == {"items": []}
    later = send(push_herald, notification_for(push_api, alice, bob), bob.id)
    assert later.skipped == "no push subscription"


def test_a_failed_push_raises_and_the_retry_sends_once_to_the_rest(
    push_herald, push_api, push_service, server_key
):
    alice, bob = push_api.register("alice"), push_api.register("bob")
    phone = subscribed(push_api, bob, push_service, server_key)
    laptop = subscribed(push_api, bob, push_service, server_key)
    push_service.answer(laptop, 500)
    notification = notification_for(push_api, alice, bob, message="twice?")

    with pytest.raises(service.PushFailed) as failed:
        send(push_herald, notification, bob.id)
    assert (failed.value.outcome.sent, failed.value.outcome.failed) == (1, 1)
    assert "500" in str(failed.value)

    push_service.answer(laptop, None)  # the push service recovers; the consumer retries
    retried = send(push_herald, notification, bob.id)

    assert (retried.sent, retried.already_sent) == (1, 1)
    for endpoint in (phone, laptop):
        [push] = push_service.received(endpoint)
        assert push.payload["data"]["id"] == notification["id"]
    with push_herald.app.app_context():
        attempts = sorted(s.attempts for s in PushSend.objects(notification_id=notification["id"]))
    assert attempts == [1, 2]


def test_a_throttled_push_raises_with_retry_after(push_herald, push_api, push_service, server_key):
    alice, bob = push_api.register("alice"), push_api.register("bob")
    endpoint = subscribed(push_api, bob, push_service, server_key)
    push_service.answer(endpoint, 429)
    with pytest.raises(service.PushFailed) as failed:
        send(push_herald, notification_for(push_api, alice, bob), bob.id)
    assert failed.value.retry_after == "1"
    assert push_api.get("/api/push-subscriptions", account=bob).json()["items"]  # kept


def test_a_notification_too_large_for_a_push_is_trimmed(
    push_herald, push_api, push_service, server_key
):
    alice, bob = push_api.register("alice"), push_api.register("bob")
    endpoint = subscribed(push_api, bob, push_service, server_key)
    notification = notification_for(
        push_api, alice, bob, message="🦉" * 2000, data={"blob": "x" * 3000}
    )

    assert send(push_herald, notification, bob.id).sent == 1

    [push] = push_service.received(endpoint)  # the service took it: within 4096 bytes
    assert push.payload["truncated"] is True
    shown = push.payload["data"]
    assert shown["id"] == notification["id"] and shown["data"] is None
    assert shown["message"].endswith("…") and notification["message"].startswith(
        shown["message"][:-1]
    )
    assert len(payload.build(notification)) <= payload.PAYLOAD_LIMIT


def test_a_user_with_a_live_socket_gets_no_push(
    push_herald, push_api, push_service, server_key, sockets
):
    alice, bob = push_api.register("alice"), push_api.register("bob")
    endpoint = subscribed(push_api, bob, push_service, server_key)
    socket = sockets(push_herald.url, bob)
    assert socket.receive_type("ready") is not None

    outcome = send(push_herald, notification_for(push_api, alice, bob), bob.id)

    assert outcome.skipped == "online: the socket delivered it"
    assert push_service.received(endpoint) == []


def test_a_push_a_killed_sender_had_started_is_not_sent_again(
    push_herald, push_api, push_service, server_key, database
):
    alice, bob = push_api.register("alice"), push_api.register("bob")
    endpoint = subscribed(push_api, bob, push_service, server_key)
    [stored] = push_api.get("/api/push-subscriptions", account=bob).json()["items"]
    notification = notification_for(push_api, alice, bob)
    # What a sender leaves when killed between recording a push and hearing back: the
    # push service may have taken it, so at most once means not again.
    database.push_sends.insert_one(
        {
            "_id": f"{notification['id']}:{stored['id']}",
            "notification_id": notification["id"],
            "subscription_id": stored["id"],
            "user_id": bob.id,
            "status": "sending",
            "attempts": 1,
        }
    )

    outcome = send(push_herald, notification, bob.id)

    assert (outcome.sent, outcome.already_sent) == (0, 1)
    assert push_service.received(endpoint) == []


def test_a_read_or_deleted_notification_is_not_pushed(
    push_herald, push_api, push_service, server_key
):
    alice, bob = push_api.register("alice"), push_api.register("bob")
    endpoint = subscribed(push_api, bob, push_service, server_key)
    read = notification_for(push_api, alice, bob, message="seen elsewhere")
    marked = push_api.put(f"/api/notifications/{read['id']}", account=bob, json={"read": True})
    assert marked.status_code == 200, marked.text
    retracted = notification_for(push_api, alice, bob, message="never mind")
    assert push_api.delete(f"/api/notifications/{retracted['id']}", account=alice).ok

    assert send(push_herald, read, bob.id).skipped == "read already"
    assert send(push_herald, retracted, bob.id).skipped == "the notification was deleted"
    assert push_service.received(endpoint) == []
