"""The operator's figures over an admin's socket: `stats.watch`, then `stats` frames."""

from tests.support.clients import Api

FIGURES = {
    "sockets",
    "deliveriesPerSecond",
    "usersOnline",
    "outboxBacklog",
    "outboxOldestAge",
    "deadLetters",
    "consumerLag",
}


def test_an_admin_gets_the_figures_now_and_then_as_they_change(own_server, sockets, admin):
    live = own_server(ADMIN_STATS_INTERVAL=0.3)
    api = Api(live.url)
    sender, bob = api.register("sender"), api.register("bob")
    watcher = sockets(live.url, api.login(admin.id, admin.username, admin.email, admin.password))
    assert watcher.receive_type("ready") is not None
    watcher.send({"type": "stats.watch"})
    first = watcher.receive_type("stats", timeout=5)["data"]
    assert set(first) >= FIGURES
    assert first["sockets"] >= 1 and first["usersOnline"] >= 1

    on_bob = sockets(live.url, bob)
    assert on_bob.receive_type("ready") is not None
    api.notify(sender, bob, "seen by the operator")
    assert on_bob.receive_type("notification", timeout=5) is not None
    later = None
    for _ in range(20):  # frames keep coming, one every ADMIN_STATS_INTERVAL
        later = watcher.receive_type("stats", timeout=5)["data"]
        if later["sockets"] >= first["sockets"] + 1 and later["deliveriesPerSecond"] > 0:
            break
    assert later["sockets"] >= first["sockets"] + 1
    assert later["deliveriesPerSecond"] > 0
    assert live.node.instance_id in later["consumerLag"]


def test_a_user_who_is_no_admin_gets_a_403_frame(server, sockets, alice):
    socket_ = sockets(server.url, alice)
    assert socket_.receive_type("ready") is not None
    socket_.send({"type": "stats.watch"})
    answer = socket_.receive_type("error", timeout=5)
    assert answer["error"]["code"] == 403
    assert socket_.receive_type("stats", timeout=1) is None
