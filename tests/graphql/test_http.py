"""Queries and mutations over HTTP through `gql`, against a running Herald."""

from tests.support.graphql import NOTIFY, ask, error_of


def test_me_and_a_notification_round_trip(graphql, alice, bob):
    as_bob, as_alice = graphql(bob), graphql(alice)
    me = ask(as_alice, "{ me { id username email connected } }")["me"]
    assert me == {
        "id": alice.id,
        "username": alice.username,
        "email": alice.email,
        "connected": False,
    }
    sent = ask(as_bob, NOTIFY, to=alice.id, message="hi", key="k1")
    created = sent["createNotification"]
    assert created["replayed"] is False
    assert created["notification"]["sender"] == {"username": bob.username}
    again = ask(as_bob, NOTIFY, to=alice.id, message="hi", key="k1")
    assert again["createNotification"]["replayed"] is True
    assert again["createNotification"]["notification"]["id"] == created["notification"]["id"]
    notification_id = created["notification"]["id"]
    assert ask(as_alice, "{ unreadCount }") == {"unreadCount": 1}
    read = ask(
        as_alice, "mutation($id: ID!) { markRead(id: $id) { id read readAt } }", id=notification_id
    )["markRead"]
    assert read["read"] is True and read["readAt"]
    assert ask(as_alice, "{ unreadCount }") == {"unreadCount": 0}


def test_notifications_page_through_cursors(graphql, api, alice, bob):
    for n in range(5):
        api.notify(bob, alice, f"n{n}")
    as_alice = graphql(alice)
    page = """query($after: String) { notifications(first: 2, after: $after) {
             totalCount edges { cursor node { message } } pageInfo { hasNextPage endCursor } } }"""
    seen, after = [], None
    for _ in range(5):
        result = ask(as_alice, page, after=after)["notifications"]
        assert result["totalCount"] == 5
        seen += [edge["node"]["message"] for edge in result["edges"]]
        after = result["pageInfo"]["endCursor"]
        if not result["pageInfo"]["hasNextPage"]:
            break
    assert seen == ["n4", "n3", "n2", "n1", "n0"]


def test_errors_carry_rest_codes(graphql, api, alice, bob):
    theirs = api.notify(bob, bob, "bob's own")["id"]
    as_alice = graphql(alice)
    one = "query($id: ID!) { notification(id: $id) { id } }"
    other = error_of(as_alice, one, id=theirs)
    missing = error_of(as_alice, one, id="00000000-0000-7000-8000-000000000000")
    assert other["message"] == missing["message"] == "No such notification."
    assert other["extensions"] == {"code": 404, "status": "Not Found"}
    invalid = error_of(as_alice, NOTIFY, to=bob.id, message="")
    assert invalid["extensions"]["code"] == 422
    assert "message" in invalid["extensions"]["fields"]
    anonymous = error_of(graphql(), "{ me { id } }")
    assert anonymous["extensions"]["code"] == 401
    assert api.get("/api/notifications/unread-count", account=bob).json()["count"] == 1


def test_accounts_register_login_refresh_and_logout(graphql):
    client = graphql()
    user = ask(
        client,
        'mutation { register(username: "gq_carol", email: "Carol@Example.test", '
        'password: "correct-horse-1") { id email } }',
    )["register"]
    assert user["email"] == "carol@example.test"
    login = (
        'mutation { login(username: "gq_carol", password: "correct-horse-1") '
        "{ accessToken refreshToken } }"
    )
    pair = ask(client, login)["login"]
    refresh = (
        "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken } }"
    )
    fresh = ask(client, refresh, t=pair["refreshToken"])["refreshToken"]
    spent = error_of(client, refresh, t=pair["refreshToken"])
    assert spent["extensions"]["code"] == 401
    # The reuse revoked every token of the user: the fresh pair too.
    assert error_of(client, refresh, t=fresh["refreshToken"])["extensions"]["code"] == 401


def test_topics_follows_posts_and_messages(graphql, alice, bob):
    as_alice, as_bob = graphql(alice), graphql(bob)
    key = f"t{alice.id[:8]}"
    ask(as_alice, f'mutation {{ createTopic(key: "{key}", name: "News") {{ key }} }}')
    ask(as_bob, f'mutation {{ subscribeTopic(key: "{key}") }}')
    fanout = ask(
        as_alice,
        f'mutation {{ createNotification(topic: "{key}", message: "all") '
        "{ fanout { total state } } }",
    )["createNotification"]["fanout"]
    assert fanout == {"total": 1, "state": "done"}
    ask(as_bob, "mutation($u: ID!) { follow(userId: $u) }", u=alice.id)
    followers = ask(
        as_alice,
        "query($u: ID!) { followers(userId: $u) { items { id } meta { total } } }",
        u=alice.id,
    )["followers"]
    assert followers == {"items": [{"id": bob.id}], "meta": {"total": 1}}
    post = ask(as_alice, 'mutation { createPost(text: "hello world") { id authorName } }')
    assert post["createPost"]["authorName"] == alice.username
    sent = ask(
        as_bob, 'mutation($u: ID!) { sendMessage(userId: $u, text: "yo") { id } }', u=alice.id
    )["sendMessage"]
    conversations = ask(
        as_alice, "{ conversations { items { user { id } unreadCount lastMessage { text } } } }"
    )["conversations"]["items"]
    assert conversations == [
        {"user": {"id": bob.id}, "unreadCount": 1, "lastMessage": {"text": "yo"}}
    ]
    read = ask(
        as_alice,
        "mutation($u: ID!, $m: ID!) { markConversationRead(userId: $u, upTo: $m) { count } }",
        u=bob.id,
        m=sent["id"],
    )
    assert read == {"markConversationRead": {"count": 1}}
    ask(as_bob, "mutation($u: ID!) { block(userId: $u) }", u=alice.id)
    blocked = error_of(as_alice, NOTIFY, to=bob.id, message="hi")
    assert blocked["extensions"]["code"] == 403


def test_an_admin_sets_a_role_and_nobody_else_can(graphql, api, alice, bob, admin):
    set_role = "mutation($id: ID!, $role: String!) { setRole(userId: $id, role: $role) { role } }"
    refused = error_of(graphql(alice), set_role, id=bob.id, role="admin")
    assert refused["extensions"]["code"] == 403
    invalid = error_of(graphql(admin), set_role, id=bob.id, role="owner")
    assert invalid["extensions"]["code"] == 422 and "role" in invalid["extensions"]["fields"]
    made = ask(graphql(admin), set_role, id=bob.id, role="admin")["setRole"]
    assert made == {"role": "admin"}
    assert api.get("/api/users/me", account=bob).json()["role"] == "admin"


def test_deleting_ones_account_takes_the_password_and_ends_its_tokens(graphql, api, alice, bob):
    api.notify(bob, alice, "before the deletion")
    delete = "mutation($password: String!) { deleteAccount(password: $password) }"
    wrong = error_of(graphql(alice), delete, password="not the password")
    assert wrong["extensions"]["code"] == 403
    assert ask(graphql(alice), "{ unreadCount }") == {"unreadCount": 1}  # nothing deleted
    assert ask(graphql(alice), delete, password=alice.password) == {"deleteAccount": True}
    assert error_of(graphql(alice), "{ me { id } }")["extensions"]["code"] == 401
    gone = error_of(graphql(bob), "query($id: ID!) { profile(userId: $id) { id } }", id=alice.id)
    assert gone["extensions"]["code"] == 404
    removed = ask(graphql(bob), "mutation { removePicture { id } }")["removePicture"]
    assert removed == {"id": bob.id}
