"""Subscriptions over graphql-transport-ws through `gql`'s websockets transport."""

import asyncio
import threading

import pytest
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportConnectionFailed
from gql.transport.websockets import WebsocketsTransport

from tests.support.clients import wait_until

ADDED = "subscription($since: ID) { notificationAdded(since: $since) { id message userId } }"


def subscription_client(server, account):
    transport = WebsocketsTransport(
        url=server.url.replace("http", "ws", 1) + "/graphql",
        init_payload={"token": account.access_token},
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        ping_interval=None,
    )
    return Client(transport=transport)


class Listener:
    """A subscription run by gql in an asyncio loop of its own thread, collecting results."""

    def __init__(self, server, account, query=ADDED, **variables):
        self.received, self.error, self.account = [], None, account
        self.client = subscription_client(server, account)
        self.request = GraphQLRequest(query, variable_values=variables or None)
        self.loop = asyncio.new_event_loop()
        self.task = None
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._run(),))
        self.thread.start()

    async def _run(self):
        self.task = asyncio.current_task()
        try:
            async with self.client as session:
                async for result in session.subscribe(self.request):
                    self.received.append(result)
        except asyncio.CancelledError:
            pass
        except Exception as error:  # the test looks at it
            self.error = error

    def stop(self):
        if self.thread.is_alive() and self.task is not None:
            self.loop.call_soon_threadsafe(self.task.cancel)
        self.thread.join(10)
        self.loop.close()

    def messages(self, field="notificationAdded"):
        return [item[field]["message"] for item in self.received]


def subscribed(server, account):
    """How many subscriptions of `account` the server holds, their backlogs sent."""
    return sum(
        subscription.resuming is False
        for session in server.node.hub.sessions_of(account.id)
        for subscription in getattr(session, "subscriptions", {}).values()
    )


@pytest.fixture
def listen(server):
    listeners = []

    def start(account, query=ADDED, **variables):
        listener = Listener(server, account, query, **variables)
        listeners.append(listener)
        mine = sum(other.account is account for other in listeners)
        # Subscribed once the server holds the subscription, its backlog sent.
        wait_until(lambda: subscribed(server, account) >= mine, timeout=10)
        return listener

    yield start
    for listener in listeners:
        listener.stop()


def test_a_subscription_receives_its_users_notifications_only(api, alice, bob, listen):
    to_alice, to_bob = listen(alice), listen(bob)
    api.notify(bob, alice, "for alice")
    api.notify(alice, bob, "for bob")
    wait_until(lambda: to_alice.received and to_bob.received)
    assert to_alice.messages() == ["for alice"]
    assert to_bob.messages() == ["for bob"]
    assert to_alice.received[0]["notificationAdded"]["userId"] == alice.id


def test_since_resumes_without_gaps_or_repeats(api, alice, bob, listen):
    first = api.notify(bob, alice, "one")
    api.notify(bob, alice, "two")
    api.notify(bob, alice, "three")
    resumed = listen(alice, since=first["id"])
    api.notify(bob, alice, "four")
    wait_until(lambda: len(resumed.received) >= 3)
    assert resumed.messages() == ["two", "three", "four"]


def test_a_revoked_token_ends_the_subscription(api, alice, listen):
    listener = listen(alice)
    assert api.post("/api/logout", account=alice, json={"everywhere": True}).status_code == 204
    listener.thread.join(15)
    assert not listener.thread.is_alive()
    assert isinstance(listener.error, TransportConnectionFailed)
    closed = listener.error.__cause__ or listener.error.__context__
    assert closed.rcvd.code == 4403


MESSAGES = "subscription { messageAdded { text senderId recipientId } }"
PRESENCE = "subscription { presenceChanged { userId connected } }"


def test_messages_and_presence_are_subscribable(api, alice, bob, listen):
    messages, watching = listen(alice, MESSAGES), listen(alice, PRESENCE)
    sent = api.post(f"/api/conversations/{alice.id}/messages", account=bob, json={"text": "psst"})
    assert sent.status_code == 201, sent.text
    wait_until(lambda: messages.received)
    assert messages.received[0]["messageAdded"] == {
        "text": "psst",
        "senderId": bob.id,
        "recipientId": alice.id,
    }
    listen(bob, MESSAGES)  # bob comes online
    came = wait_until(
        lambda: [p for p in watching.received if p["presenceChanged"]["userId"] == bob.id]
    )
    assert came[0]["presenceChanged"] == {"userId": bob.id, "connected": True}


INBOX = """subscription { inboxChanged {
  kind notificationId upTo notification { read } inbox { unreadCount seq } } }"""


def test_inbox_changes_made_elsewhere_are_subscribable(api, alice, bob, listen):
    changes = listen(alice, INBOX)
    sent = api.notify(bob, alice, "to read")
    assert api.put(f"/api/notifications/{sent['id']}", account=alice, json={}).status_code == 200
    api.notify(bob, alice, "another")
    assert api.post("/api/notifications/read-all", account=alice, json={}).status_code == 200
    wait_until(lambda: len(changes.received) >= 2)
    read, read_all = (item["inboxChanged"] for item in changes.received[:2])
    assert read["kind"] == "notification.updated" and read["notificationId"] == sent["id"]
    assert read["notification"] == {"read": True}
    assert read_all["kind"] == "notifications.read_all" and read_all["upTo"]
    assert read_all["inbox"]["unreadCount"] == 0 and read_all["inbox"]["seq"] > read["inbox"]["seq"]
