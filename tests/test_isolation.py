"""Users never see, change or delete each other's notifications: a stateful property test.

Hypothesis drives 3 to 5 fresh users through random operations over real HTTP
against the live server (create from any sender to any recipient, list pages
with random `page`/`per_page`/`read`, get/mark/delete by id, including other
users' ids, mark-all-read, unread count, marking read over the socket, a
sender's edit and retraction; direct messages between any two, the history and
the list of conversations, reading up to any message id, another
conversation's included; topics, their subscribers and notifications, follows,
posts and their deletion; each user editing their own profile), while each
user holds a real WebSocket. The
test keeps a model of what every user owns; every page, item, count and frame
must match it exactly (ids, read state, totals, newest first), nothing of one
user may reach another (a message only its two participants), and each
socket's copy of its inbox, kept from the
frames it got by the protocol's rules (`InboxMirror`), must end as the model.
"""

import math
import uuid

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    multiple,
    rule,
    run_state_machine_as_test,
)

from tests.support.clients import Api, Socket
from tests.support.inbox_mirror import InboxMirror

DELIVERY_TIMEOUT = 10.0  # upper bound on waiting for a frame; never asserted as a speed
QUIET_PERIOD = 0.3  # how long an idle socket is watched for stray frames at the end
ISOLATION_SETTINGS = settings(
    max_examples=10,  # each example is some 20 HTTP steps and 3-5 sockets: CI time
    stateful_step_count=20,
    deadline=None,
    derandomize=True,
    database=None,
    # A failing example is reported as run (its steps are printed): shrinking one replays
    # dozens of HTTP requests per attempt and would take minutes.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FIELDS = ("id", "userId", "senderId", "message", "type", "read")

messages = st.text(min_size=1, max_size=40)
types = st.none() | st.text(min_size=1, max_size=12)


class IsolationMachine(RuleBasedStateMachine):
    users = Bundle("users")
    notifications = Bundle("notifications")

    def __init__(self, base_url):
        super().__init__()
        self.base_url = base_url
        self.api = Api(base_url)
        self.accounts = {}  # user id -> Account
        self.sockets = {}  # user id -> Socket
        self.mirrors = {}  # user id -> that socket's copy of the inbox, from its frames
        self.owned = {}  # user id -> that user's live notifications, oldest first
        self.owner = {}  # notification id -> recipient id, kept after a delete
        self.read_at = {}  # notification id -> the first readAt REST showed
        self.conversations = {}  # frozenset of two user ids -> their messages, oldest first
        self.topics = {}  # topic key -> {"owner": user id, "members": set of user ids}
        self.follows = set()  # (follower id, followed id)
        self.posts = {}  # post id -> author id, while it exists
        self.profiles = {}  # user id -> (displayName, bio) as that user last set them

    # --- set-up -----------------------------------------------------------------------

    @initialize(target=users, count=st.integers(min_value=3, max_value=5))
    def sign_up(self, count):
        accounts = [self.api.register("iso") for _ in range(count)]
        for account in accounts:
            self.accounts[account.id] = account
            self.owned[account.id] = []
            socket = Socket.open(self.base_url, account.access_token)
            self.sockets[account.id] = socket
            self.mirrors[account.id] = InboxMirror()
            ready = self._receive(account, "ready")
            assert ready is not None, f"no ready frame on the socket of {account.username}"
        return multiple(*accounts)

    # --- operations -------------------------------------------------------------------

    @rule(target=notifications, sender=users, recipient=users, message=messages, kind=types)
    def create(self, sender, recipient, message, kind):
        body = {"userId": recipient.id, "message": message}
        if kind is not None:
            body["type"] = kind
        response = self.api.post("/api/notifications", account=sender, json=body)
        assert response.status_code == 201, response.text
        created = response.json()
        expected = {
            "userId": recipient.id,
            "senderId": sender.id,
            "message": message,
            "type": kind,
            "read": False,
        }
        assert _subset(created, expected) == expected, created
        assert created["readAt"] is None, created
        self.owned[recipient.id].append(created)
        self.owner[created["id"]] = recipient.id
        self._expect_frame(recipient, created)
        return created["id"]

    @rule(
        user=users,
        page=st.integers(min_value=1, max_value=4),
        per_page=st.integers(min_value=1, max_value=6),
        read=st.sampled_from([None, True, False]),
    )
    def list_page(self, user, page, per_page, read):
        query = {"page": page, "per_page": per_page}
        if read is not None:
            query["read"] = str(read).lower()
        response = self.api.get("/api/notifications", account=user, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        matching = [n for n in self._newest_first(user) if read is None or n["read"] is read]
        wanted = matching[(page - 1) * per_page : page * per_page]
        assert [n["id"] for n in body["items"]] == [n["id"] for n in wanted], (
            f"{user.username} page {page}/{per_page} read={read}: "
            f"got {[self._describe(n) for n in body['items']]}, "
            f"expected {[self._describe(n) for n in wanted]}"
        )
        for item, model in zip(body["items"], wanted, strict=True):
            self._assert_same(item, model)
        assert body["meta"] == {
            "page": page,
            "perPage": per_page,
            "total": len(matching),
            "totalPages": math.ceil(len(matching) / per_page),
        }, body["meta"]

    @rule(user=users, notification=notifications)
    def get_one(self, user, notification):
        response = self.api.get(f"/api/notifications/{notification}", account=user)
        model = self._find(user, notification)
        if model is None:
            self._assert_hidden(response, user, notification)
        else:
            assert response.status_code == 200, response.text
            self._assert_same(response.json(), model)

    @rule(user=users, notification=notifications, read=st.sampled_from([None, True, False]))
    def mark(self, user, notification, read):
        kwargs = {} if read is None else {"json": {"read": read}}
        response = self.api.put(f"/api/notifications/{notification}", account=user, **kwargs)
        model = self._find(user, notification)
        if model is None:
            self._assert_hidden(response, user, notification)
            return
        assert response.status_code == 200, response.text
        model["read"] = read is not False
        if not model["read"]:
            self.read_at.pop(notification, None)
        self._assert_same(response.json(), model)

    @rule(user=users, notification=notifications)
    def delete(self, user, notification):
        """The recipient deletes their own; its sender retracts it; anyone else: 404."""
        response = self.api.delete(f"/api/notifications/{notification}", account=user)
        model = self._find(user, notification) or self._sent_by(user, notification)
        if model is None:
            self._assert_hidden(response, user, notification)
            return
        assert response.status_code == 204, response.text
        self.owned[model["userId"]].remove(model)
        self.read_at.pop(notification, None)

    @rule(user=users, notification=notifications, message=messages)
    def edit(self, user, notification, message):
        """Its sender edits it; the recipient who did not send it: 403; anyone else: 404."""
        path = f"/api/notifications/{notification}"
        response = self.api.request("PATCH", path, account=user, json={"message": message})
        model = self._sent_by(user, notification)
        if model is None:
            received = self._find(user, notification)
            if received is None:
                self._assert_hidden(response, user, notification)
            else:
                assert response.status_code == 403, response.text
            return
        assert response.status_code == 200, response.text
        model["message"] = message
        self._assert_same(response.json(), model)
        assert response.json()["editedAt"] is not None, response.text

    @rule(user=users)
    def get_unknown(self, user):
        response = self.api.get(f"/api/notifications/{uuid.uuid4()}", account=user)
        assert response.status_code == 404, response.text

    @rule(user=users)
    def mark_all_read(self, user):
        response = self.api.post("/api/notifications/read-all", account=user)
        assert response.status_code == 200, response.text
        unread = [n for n in self.owned[user.id] if not n["read"]]
        assert response.json() == {"count": len(unread)}, (
            f"{user.username} marked {response.json()} read; their unread ones: "
            f"{[self._describe(n) for n in unread]}"
        )
        for model in unread:
            model["read"] = True

    @rule(user=users)
    def unread_count(self, user):
        response = self.api.get("/api/notifications/unread-count", account=user)
        assert response.status_code == 200, response.text
        unread = sum(not n["read"] for n in self.owned[user.id])
        assert response.json() == {"count": unread}, f"{user.username}: {response.json()}"

    @rule(user=users, notification=notifications)
    def mark_read_over_socket(self, user, notification):
        socket = self.sockets[user.id]
        socket.send({"type": "read", "id": notification})
        answer = self._next_answer(user)
        model = self._find(user, notification)
        if model is None:
            assert answer["type"] == "error", (
                f"{user.username} marked {self._describe_id(notification)} read "
                f"over the socket: {answer}"
            )
            assert answer["error"]["code"] == 404 and answer["error"].get("id") == notification, (
                answer
            )
            return
        assert answer["type"] == "read", answer
        model["read"] = True
        self._assert_same(answer["data"], model)

    @rule(sender=users, recipient=users, text=messages)
    def send_message(self, sender, recipient, text):
        response = self.api.post(
            f"/api/conversations/{recipient.id}/messages", account=sender, json={"text": text}
        )
        if sender.id == recipient.id:
            assert response.status_code == 422, response.text
            return
        assert response.status_code == 201, response.text
        sent = response.json()
        assert (sent["senderId"], sent["recipientId"], sent["text"]) == (
            sender.id,
            recipient.id,
            text,
        )
        self.conversations.setdefault(frozenset((sender.id, recipient.id)), []).append(sent)
        for participant in (sender, recipient):
            frame = self._receive(participant, "message")
            assert frame is not None, f"{sent['id']} never reached {participant.username}"
            assert frame["data"]["id"] == sent["id"], (participant.username, frame)

    @rule(user=users, other=users)
    def read_history(self, user, other):
        response = self.api.get(
            f"/api/conversations/{other.id}/messages", account=user, params={"limit": 100}
        )
        if user.id == other.id:
            assert response.status_code == 422, response.text
            return
        assert response.status_code == 200, response.text
        model = self.conversations.get(frozenset((user.id, other.id)), [])
        shown = response.json()["items"]
        assert [m["id"] for m in shown] == [m["id"] for m in model], (user.username, shown)
        for item, kept in zip(shown, model, strict=True):
            assert (item["readAt"] is None) == (kept["readAt"] is None), (item, kept)

    @rule(user=users, other=users, data=st.data())
    def read_conversation(self, user, other, data):
        """Read up to any message id: one of this conversation's, another's, or none."""
        every = [m for thread in self.conversations.values() for m in thread]
        up_to = data.draw(
            st.sampled_from([m["id"] for m in every]) if every else st.just(str(uuid.uuid4())),
            label="upTo",
        )
        response = self.api.put(
            f"/api/conversations/{other.id}/read", account=user, json={"upTo": up_to}
        )
        thread = self.conversations.get(frozenset((user.id, other.id)), [])
        if user.id == other.id:
            assert response.status_code == 422, response.text
            return
        if up_to not in {m["id"] for m in thread}:
            assert response.status_code == 404, (
                f"{user.username} read up to {up_to}, not in their conversation: {response.text}"
            )
            return
        assert response.status_code == 200, response.text
        newly = [
            m
            for m in thread
            if m["recipientId"] == user.id and m["id"] <= up_to and not m["readAt"]
        ]
        assert response.json()["count"] == len(newly), (response.json(), newly)
        for message in newly:
            message["readAt"] = "read"
        for participant in (user, other):
            receipt = self._receive(participant, "message.read")
            assert receipt is not None and receipt["data"]["readerId"] == user.id, receipt

    @rule(user=users)
    def list_conversations(self, user):
        response = self.api.get("/api/conversations", account=user, params={"per_page": 100})
        assert response.status_code == 200, response.text
        mine = {pair: thread for pair, thread in self.conversations.items() if user.id in pair}
        shown = {c["user"]["id"]: c for c in response.json()["items"]}
        assert set(shown) == {next(iter(pair - {user.id})) for pair in mine}, shown
        for pair, thread in mine.items():
            listed = shown[next(iter(pair - {user.id}))]
            assert listed["lastMessage"]["id"] == thread[-1]["id"], listed
            unread = sum(m["recipientId"] == user.id and not m["readAt"] for m in thread)
            assert listed["unreadCount"] == unread, (listed, thread)

    @rule(owner=users)
    def create_topic(self, owner):
        key = f"iso-{uuid.uuid4().hex[:10]}"
        response = self.api.post("/api/topics", account=owner, json={"key": key, "name": key})
        assert response.status_code == 201, response.text
        self.topics[key] = {"owner": owner.id, "members": set()}

    @rule(user=users, others=st.lists(users, min_size=1, max_size=3), data=st.data())
    def add_subscribers(self, user, others, data):
        """Only a topic's owner subscribes others."""
        if not self.topics:
            return
        key = data.draw(st.sampled_from(sorted(self.topics)), label="topic")
        topic = self.topics[key]
        response = self.api.post(
            f"/api/topics/{key}/subscribers",
            account=user,
            json={"userIds": [other.id for other in others]},
        )
        if user.id != topic["owner"]:
            assert response.status_code == 403, (user.username, response.text)
            return
        assert response.status_code == 200, response.text
        new = {other.id for other in others} - topic["members"]
        assert response.json() == {"count": len(new)}
        topic["members"] |= new

    @rule(user=users, data=st.data())
    def join_topic(self, user, data):
        if not self.topics:
            return
        key = data.draw(st.sampled_from(sorted(self.topics)), label="topic")
        response = self.api.put(f"/api/topics/{key}/subscription", account=user)
        assert response.status_code == 204, response.text
        self.topics[key]["members"].add(user.id)

    @rule(user=users, data=st.data())
    def read_subscribers(self, user, data):
        """Nobody but its owner reads a topic's subscribers."""
        if not self.topics:
            return
        key = data.draw(st.sampled_from(sorted(self.topics)), label="topic")
        response = self.api.get(
            f"/api/topics/{key}/subscribers", account=user, params={"per_page": 100}
        )
        topic = self.topics[key]
        if user.id != topic["owner"]:
            assert response.status_code == 403, (user.username, response.text)
            return
        assert response.status_code == 200, response.text
        assert {u["id"] for u in response.json()["items"]} == topic["members"]

    @rule(user=users, message=messages, data=st.data())
    def notify_topic(self, user, message, data):
        """The owner notifies a topic: every member but them, once; anyone else: 403."""
        if not self.topics:
            return
        key = data.draw(st.sampled_from(sorted(self.topics)), label="topic")
        topic = self.topics[key]
        response = self.api.post(
            "/api/notifications", account=user, json={"topic": key, "message": message}
        )
        if user.id != topic["owner"]:
            assert response.status_code == 403, (user.username, response.text)
            return
        assert response.status_code == 202, response.text
        recipients = topic["members"] - {user.id}
        assert response.json()["total"] == len(recipients)
        self._expect_fanout(user, recipients, message, None)

    @rule(follower=users, followed=users)
    def follow(self, follower, followed):
        response = self.api.put(f"/api/users/{followed.id}/follow", account=follower)
        if follower.id == followed.id:
            assert response.status_code == 422, response.text
            return
        assert response.status_code == 204, response.text
        self.follows.add((follower.id, followed.id))

    @rule(author=users, text=messages)
    def publish_post(self, author, text):
        response = self.api.post("/api/posts", account=author, json={"text": text})
        assert response.status_code == 201, response.text
        self.posts[response.json()["id"]] = author.id
        followers = {f for f, followed in self.follows if followed == author.id}
        self._expect_fanout(author, followers, f"{author.username} posted: {text[:140]}", "post")

    @rule(user=users, data=st.data())
    def delete_post(self, user, data):
        """Nobody deletes another's post."""
        if not self.posts:
            return
        post_id = data.draw(st.sampled_from(sorted(self.posts)), label="post")
        response = self.api.delete(f"/api/posts/{post_id}", account=user)
        if self.posts[post_id] != user.id:
            assert response.status_code == 403, (user.username, response.text)
            return
        assert response.status_code == 204, response.text
        del self.posts[post_id]

    @rule(
        user=users,
        display_name=st.none() | st.text(min_size=1, max_size=20).filter(str.strip),
        bio=st.text(max_size=40),
    )
    def edit_profile(self, user, display_name, bio):
        """A user edits their own profile (there is no way to name another's); every
        profile must then read as its own user last set it."""
        body = {"displayName": display_name, "bio": bio}
        response = self.api.request("PATCH", "/api/users/me", account=user, json=body)
        assert response.status_code == 200, response.text
        self.profiles[user.id] = (display_name, bio)
        for account in self.accounts.values():
            listed = self.api.get(
                "/api/users", account=user, params={"username": account.username}
            ).json()["items"]
            shown = [(u["id"], u["displayName"], u["bio"]) for u in listed]
            assert shown == [(account.id, *self.profiles.get(account.id, (None, "")))], shown

    # --- end of each example ----------------------------------------------------------

    def teardown(self):
        try:
            for account in self.accounts.values():
                while (frame := self._receive(account, timeout=QUIET_PERIOD)) is not None:
                    assert frame.get("type") not in ("notification", "message"), (
                        f"{account.username} got an unexpected frame: {frame}"
                    )
            for account in self.accounts.values():
                self.list_page(account, page=1, per_page=100, read=None)
                self.unread_count(account)
                self._assert_socket_converged(account)
        finally:
            for socket in self.sockets.values():
                socket.close()

    # --- helpers ----------------------------------------------------------------------

    def _newest_first(self, user):
        return list(reversed(self.owned[user.id]))

    def _find(self, user, notification_id):
        """The model of `notification_id` when `user` owns it and it was not deleted."""
        return next((n for n in self.owned[user.id] if n["id"] == notification_id), None)

    def _sent_by(self, user, notification_id):
        """The model of `notification_id` when `user` sent it and it was not deleted."""
        owner = self.owner.get(notification_id)
        model = next((n for n in self.owned.get(owner, ()) if n["id"] == notification_id), None)
        return model if model is not None and model["senderId"] == user.id else None

    def _receive(self, user, kind=None, timeout=DELIVERY_TIMEOUT):
        """The user's next frame (of `kind`, if given), after its copy of the inbox took
        every frame read on the way; each must be the user's own."""
        socket, mirror = self.sockets[user.id], self.mirrors[user.id]
        while (frame := socket.receive(timeout=timeout)) is not None:
            owner = (
                frame.get("for")
                or frame.get("inbox", {}).get("userId")
                or frame.get("data", {}).get("userId")
            )
            if frame["type"] != "read":
                assert owner in (None, user.id), f"{user.username} got another's: {frame}"
            if frame["type"] == "message":
                data = frame["data"]
                assert user.id in (data["senderId"], data["recipientId"]), frame
            mirror.apply(frame)
            if kind is None or frame["type"] == kind:
                return frame
        return None

    def _assert_socket_converged(self, user):
        """The socket's copy of the inbox is the model, count included."""
        mirror = self.mirrors[user.id]
        shown = {i: _subset(n, FIELDS) for i, n in mirror.notifications.items()}
        assert shown == {n["id"]: _subset(n, FIELDS) for n in self.owned[user.id]}, (
            f"{user.username}'s socket ended with {shown}"
        )
        assert mirror.unread_count == sum(not n["read"] for n in self.owned[user.id])

    def _describe_id(self, notification_id):
        owner = self.owner.get(notification_id)
        alive = owner is not None and any(n["id"] == notification_id for n in self.owned[owner])
        return f"{notification_id} (of {owner}, {'live' if alive else 'deleted'})"

    def _describe(self, notification):
        return f"{notification['id']}(to {notification['userId']}, read={notification['read']})"

    def _assert_hidden(self, response, user, notification):
        assert response.status_code == 404, (
            f"{user.username} reached {self._describe_id(notification)}: "
            f"{response.status_code} {response.text}"
        )
        assert set(response.json()) == {"code", "status", "message", "errors"}, response.text

    def _assert_same(self, shown, model):
        """`shown` (from REST or a frame) is `model`, with a consistent readAt."""
        assert _subset(shown, FIELDS) == _subset(model, FIELDS), (shown, model)
        if not model["read"]:
            assert shown["readAt"] is None, shown
            return
        assert shown["readAt"] is not None, shown
        first = self.read_at.setdefault(model["id"], shown["readAt"])
        assert shown["readAt"] == first, f"readAt changed from {first}: {shown}"

    def _expect_frame(self, recipient, created):
        """The recipient's socket delivers `created` next; nothing else of anyone's."""
        frame = self._receive(recipient, "notification")
        assert frame is not None, f"{created['id']} never reached {recipient.username}'s socket"
        assert frame["data"]["id"] == created["id"], (
            f"{recipient.username} expected {created['id']}, got {frame['data']} "
            f"({self._describe_id(frame['data'].get('id'))})"
        )
        assert _subset(frame["data"], FIELDS) == _subset(created, FIELDS), frame

    def _expect_fanout(self, sender, recipient_ids, message, kind):
        """Each recipient's socket gets one notification from `sender`, kept in the model."""
        for recipient_id in sorted(recipient_ids):
            recipient = self.accounts[recipient_id]
            frame = self._receive(recipient, "notification")
            assert frame is not None, f"{recipient.username} never got {message!r}"
            shown = frame["data"]
            expected = {
                "userId": recipient_id,
                "senderId": sender.id,
                "message": message,
                "type": kind,
                "read": False,
            }
            assert _subset(shown, expected) == expected, shown
            self.owned[recipient_id].append(shown)
            self.owner[shown["id"]] = recipient_id

    def _next_answer(self, user):
        """The socket's answer to a client frame; a notification frame here is a stray one."""
        frame = self._receive(user)
        while frame is not None and frame.get("type") not in ("read", "error"):
            assert frame.get("type") != "notification", (
                f"{user.username} got a notification frame no one sent them: {frame}"
            )
            frame = self._receive(user)
        assert frame is not None, f"{user.username}'s socket did not answer"
        return frame


def _subset(mapping, keys):
    return {key: mapping.get(key) for key in keys}


def test_users_only_ever_see_their_own_notifications(server):
    run_state_machine_as_test(lambda: IsolationMachine(server.url), settings=ISOLATION_SETTINGS)
