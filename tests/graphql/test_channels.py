"""Preferences, the delivery log and push subscriptions through GraphQL, with REST's rules."""

import base64
import os

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.support.graphql import ask, error_of

PREFERENCES = "{ preferences { channels types } }"
UPDATE = (
    "mutation($c: JSON, $t: JSON) { updatePreferences(channels: $c, types: $t) { channels types } }"
)


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def browser_keys():
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    point = public.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url(point), b64url(os.urandom(16))


def test_preferences_are_read_and_changed_under_the_rules_of_rest(graphql, api, alice):
    as_alice = graphql(alice)
    changed = ask(as_alice, UPDATE, c={"email": False}, t={"push": {"message": False}})
    assert changed["updatePreferences"]["channels"]["email"] is False
    assert changed["updatePreferences"]["types"]["push"]["message"] is False
    assert ask(as_alice, PREFERENCES)["preferences"] == changed["updatePreferences"]
    assert (
        api.get("/api/users/me/preferences", account=alice).json() == changed["updatePreferences"]
    )
    unknown = error_of(as_alice, UPDATE, c={"carrier-pigeon": True})
    assert unknown["extensions"]["code"] == 422
    not_boolean = error_of(as_alice, UPDATE, c={"email": "yes"})
    assert not_boolean["extensions"]["code"] == 422
    assert ask(as_alice, PREFERENCES)["preferences"] == changed["updatePreferences"]


def test_a_delivery_log_is_the_recipients_and_no_one_elses(graphql, api, alice, bob):
    created = api.notify(bob, alice, "logged")
    log = "query($id: ID!) { deliveries(notificationId: $id) { channel status } }"
    assert ask(graphql(alice), log, id=created["id"]) == {"deliveries": []}  # channels off here
    refused = error_of(graphql(bob), log, id=created["id"])
    assert refused["extensions"]["code"] == 404 and refused["message"] == "No such notification."


def test_push_subscriptions_are_added_listed_and_removed_by_their_owner(graphql, alice, bob):
    p256dh, auth = browser_keys()
    subscribe = """mutation($e: String!, $p: String!, $a: String!) {
        subscribePush(endpoint: $e, p256dh: $p, auth: $a) { id endpoint } }"""
    endpoint = "https://push.example.test/send/" + b64url(os.urandom(8))
    added = ask(graphql(alice), subscribe, e=endpoint, p=p256dh, a=auth)["subscribePush"]
    assert added["endpoint"] == endpoint
    mine = ask(graphql(alice), "{ pushSubscriptions { id } }")["pushSubscriptions"]
    assert mine == [{"id": added["id"]}]
    bad = error_of(graphql(alice), subscribe, e=endpoint, p="not-a-point", a=auth)
    assert bad["extensions"]["code"] == 422
    remove = "mutation($id: ID!) { deletePushSubscription(id: $id) }"
    assert error_of(graphql(bob), remove, id=added["id"])["extensions"]["code"] == 404
    assert ask(graphql(alice), remove, id=added["id"]) == {"deletePushSubscription": True}
    assert ask(graphql(alice), "{ pushSubscriptions { id } }") == {"pushSubscriptions": []}
