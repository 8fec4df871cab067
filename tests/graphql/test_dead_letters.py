"""The admins' dead letters through GraphQL: listed, replayed; nobody else sees them."""

from tests.support.clients import Api, wait_until
from tests.support.graphql import ask, error_of

LETTERS = """query($channel: String) { deadLetters(channel: $channel) {
    items { id channel error attempts replayedAt } meta { total } } }"""


def test_an_admin_lists_and_replays_dead_letters_and_a_user_cannot(own_server, graphql, admin):
    live = own_server()
    bob = Api(live.url).register("bob")
    topic = live.app.config["BROKER_TOPIC"]
    live.node.broker.publish(topic, b"not an event at all", key=bob.id)  # dead at once
    as_admin = graphql(admin, url=live.url)

    def listed():
        return ask(as_admin, LETTERS, channel="socket")["deadLetters"]["items"]

    letters = wait_until(listed, timeout=10)
    assert letters and letters[0]["channel"] == "socket" and letters[0]["replayedAt"] is None
    assert error_of(graphql(bob, url=live.url), LETTERS)["extensions"]["code"] == 403
    malformed = error_of(
        as_admin, "mutation($id: ID!) { replayDeadLetter(id: $id) { id } }", id=letters[0]["id"]
    )
    assert malformed["extensions"]["code"] == 409  # as REST: it would only fail again
    missing = error_of(
        as_admin,
        "mutation($id: ID!) { replayDeadLetter(id: $id) { id } }",
        id="00000000-0000-7000-8000-000000000000",
    )
    assert missing["extensions"]["code"] == 404
    assert ask(as_admin, 'mutation { replayDeadLetters(channel: "socket") }') == {
        "replayDeadLetters": 0  # nothing well-formed to replay
    }
