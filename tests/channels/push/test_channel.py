"""The push channel: a notification created over REST reaches the devices of a recipient
who has no socket open, through the channel's own consumer, and shows in the delivery log."""

from tests.support.clients import Api, wait_until

FAILING = 500


def push_channel_herald(own_server, vapid_key, **overrides):
    live = own_server(
        CHANNELS_ENABLED=True,
        CHANNELS=["push"],
        VAPID_PRIVATE_KEY=vapid_key,
        VAPID_SUBJECT="mailto:ops@herald.test",
        PUSH_ALLOW_LOOPBACK_HTTP=True,
        RETRY_MAX_ATTEMPTS=3,
        RETRY_BASE_DELAY=0.05,
        **overrides,
    )
    live.api = Api(live.url)
    return live


def subscribe(api, account, push_service):
    key = api.get("/api/push/vapid-public-key").json()["publicKey"]
    subscription = push_service.subscribe(key)
    response = api.post("/api/push-subscriptions", account=account, json=subscription)
    assert response.status_code == 201, response.text
    return subscription["endpoint"]


def push_delivery(api, account, notification_id):
    items = api.get(f"/api/notifications/{notification_id}/deliveries", account=account).json()
    return next((d for d in items["items"] if d["channel"] == "push"), None)


def test_an_offline_recipient_gets_a_push_and_the_log_says_sent(
    own_server, vapid_key, push_service
):
    live = push_channel_herald(own_server, vapid_key)
    api = live.api
    alice, bob = api.register("alice"), api.register("bob")
    endpoint = subscribe(api, bob, push_service)
    created = api.notify(alice, bob, "while you were away")

    assert wait_until(lambda: push_service.received(endpoint), timeout=15)
    [push] = push_service.received(endpoint)
    assert push.payload["data"]["id"] == created["id"]
    assert push.payload["data"]["message"] == "while you were away"
    delivery = wait_until(
        lambda: (d := push_delivery(api, bob, created["id"]))["status"] == "sent" and d
    )
    assert delivery["attempts"] == 1 and delivery["sentAt"]
    # Alice may not read Bob's delivery log.
    other = api.get(f"/api/notifications/{created['id']}/deliveries", account=alice)
    assert other.status_code == 404


def test_a_connected_recipient_is_not_pushed(own_server, vapid_key, push_service, sockets):
    live = push_channel_herald(own_server, vapid_key)
    api = live.api
    alice, bob = api.register("alice"), api.register("bob")
    endpoint = subscribe(api, bob, push_service)
    socket_ = sockets(live.url, bob)
    assert socket_.receive_type("ready") is not None
    created = api.notify(alice, bob, "you are here")
    assert socket_.receive_type("notification")["data"]["id"] == created["id"]

    def skipped():
        delivery = push_delivery(api, bob, created["id"])
        return delivery is not None and delivery["status"] == "skipped" and delivery

    delivery = wait_until(skipped, timeout=15)
    assert delivery, push_delivery(api, bob, created["id"])
    assert "online" in delivery["reason"]
    assert push_service.received(endpoint) == []


def test_a_failing_push_service_is_retried_then_dead_lettered_with_the_channel_named(
    own_server, vapid_key, push_service, admin
):
    live = push_channel_herald(own_server, vapid_key)
    api = live.api
    alice, bob = api.register("alice"), api.register("bob")
    endpoint = subscribe(api, bob, push_service)
    push_service.answer(endpoint, FAILING)
    created = api.notify(alice, bob, "the push service is down")

    def dead():
        delivery = push_delivery(api, bob, created["id"])
        return delivery is not None and delivery["status"] == "dead" and delivery

    delivery = wait_until(dead, timeout=20)
    assert delivery, push_delivery(api, bob, created["id"])
    assert delivery["attempts"] == 3 and "500" in delivery["error"]
    letters = api.get("/api/admin/dead-letters?channel=push", account=admin).json()["items"]
    assert [letter["channel"] for letter in letters] == ["push"]

    # Replayed once the push service is back: pushed once, and the log says sent.
    push_service.answer(endpoint, None)
    replay = api.post(f"/api/admin/dead-letters/{letters[0]['id']}/replay", account=admin)
    assert replay.status_code == 200, replay.text
    assert wait_until(lambda: push_service.received(endpoint), timeout=15)
    assert wait_until(lambda: push_delivery(api, bob, created["id"])["status"] == "sent")
    assert len(push_service.received(endpoint)) == 1
