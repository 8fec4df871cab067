"""Hostile or malformed documents get a clear GraphQL error (never a 500 or a stall)."""

import pytest

NOTIFICATION_FIELDS = "id userId senderId message type data read readAt createdAt editedAt"


def post(api, account, query, **variables):
    return api.post("/graphql", account=account, json={"query": query, "variables": variables})


def first_error(response):
    assert response.status_code in (200, 400), response.text
    return response.json()["errors"][0]


def test_aliases_tokens_and_cost_are_bounded(api, alice):
    many_aliases = "{ " + " ".join(f"a{n}: unreadCount" for n in range(100)) + " }"
    error = first_error(post(api, alice, many_aliases))
    assert "aliases" in error["message"] and error["extensions"]["code"] == 400
    huge = "{ " + " ".join(f"a{n}: unreadCount" for n in range(3000)) + " }"
    assert "token" in first_error(post(api, alice, huge))["message"].lower()
    page = f"notifications(first: 100) {{ edges {{ node {{ {NOTIFICATION_FIELDS} }} }} }}"
    costly = "{ " + " ".join(f"p{n}: {page}" for n in range(25)) + " }"
    error = first_error(post(api, alice, costly))
    assert "costs" in error["message"] and error["extensions"]["code"] == 400


def test_pages_are_at_most_rests_largest(api, alice):
    error = first_error(post(api, alice, "{ notifications(first: 101) { totalCount } }"))
    assert error["extensions"]["code"] == 422 and "first" in error["extensions"]["fields"]
    error = first_error(post(api, alice, "{ users(perPage: 1000) { meta { total } } }"))
    assert error["extensions"]["fields"] == {
        "per_page": ["Must be greater than or equal to 1 and less than or equal to 100."]
    }


def test_get_runs_queries_only_and_bad_bodies_are_4xx(api, alice):
    got = api.get("/graphql", account=alice, params={"query": "{ unreadCount }"})
    assert got.status_code == 200 and got.json() == {"data": {"unreadCount": 0}}
    mutation = api.get("/graphql", account=alice, params={"query": "mutation { markAllRead }"})
    assert mutation.status_code in (400, 405)
    assert mutation.json()["code"] == mutation.status_code
    not_json = api.post(
        "/graphql", account=alice, data="{", headers={"Content-Type": "application/json"}
    )
    assert not_json.status_code == 400 and not_json.json()["code"] == 400


@pytest.fixture(scope="module")
def strict_server(make_config):
    from tests.support.servers import LiveServer

    live = LiveServer(make_config(GRAPHQL_INTROSPECTION=False, GRAPHQL_MAX_DEPTH=3))
    yield live
    live.stop()


def test_depth_and_introspection_follow_the_settings(strict_server, api, alice):
    from tests.support.clients import Api

    strict = Api(strict_server.url)
    deep = "{ notifications { edges { node { sender { id } } } } }"
    error = first_error(post(strict, alice, deep))
    assert "exceeds maximum operation depth" in error["message"]
    introspect = "{ __schema { types { name } } }"
    assert "introspection" in first_error(post(strict, alice, introspect))["message"].lower()
    assert post(api, alice, introspect).json()["data"]["__schema"]["types"]  # on in testing


def test_automatic_persisted_queries(api, alice):
    import hashlib

    query = "{ unreadCount }"
    digest = hashlib.sha256(query.encode()).hexdigest()
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    miss = api.post("/graphql", account=alice, json={"extensions": persisted})
    assert miss.json()["errors"][0]["message"] == "PersistedQueryNotFound"
    full = api.post("/graphql", account=alice, json={"query": query, "extensions": persisted})
    assert full.json() == {"data": {"unreadCount": 0}}
    hit = api.post("/graphql", account=alice, json={"extensions": persisted})
    assert hit.json() == {"data": {"unreadCount": 0}}
    wrong = {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}
    mismatch = api.post("/graphql", account=alice, json={"query": query, "extensions": wrong})
    assert "does not match" in mismatch.json()["errors"][0]["message"]
