"""Schemathesis's GraphQL fuzzing against the live /graphql: no 5xx, and no resolver
failing unexpectedly (an internal error would come back as a GraphQL error with code 500).

Every root field is fuzzed, each by a fresh account (an operation may log it out or
change its password), with a bounded, seeded number of generated documents.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.support.clients import Api

SEED = 20261203
MAX_EXAMPLES = 8
FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module")
def graphql_schema(server):
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "cache": {"enabled": False},
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True},
        }
    )
    return schemathesis.graphql.from_url(server.url + "/graphql", config=config, timeout=15)


def _operations(schema):
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 40, "the schema lost its fields?"
    return operations


def _fuzz(operation, url, account):
    @FUZZ_SETTINGS
    @given(case=operation.as_strategy())
    def fuzz(case):
        response = case.call(base_url=url, headers=account.auth)
        assert response.status_code < 500, response.text
        internal = [
            error
            for error in response.json().get("errors") or ()
            if (error.get("extensions") or {}).get("code", 400) >= 500
        ]
        assert not internal, f"{case.body}: {internal}"

    fuzz()


def test_every_field_without_server_errors(graphql_schema, server, subtests):
    api = Api(server.url)
    for operation in _operations(graphql_schema):
        if operation.label.startswith("Subscription."):
            continue  # not served over HTTP: the WebSocket tests cover them
        with subtests.test(msg=operation.label):
            _fuzz(operation, server.url + "/graphql", api.register("fuzz"))
