"""Running GraphQL documents through `gql`'s clients, for the tests."""

import pytest
from gql import GraphQLRequest
from gql.transport.exceptions import TransportQueryError

NOTIFY = """mutation Notify($to: ID!, $message: String!, $key: String) {
  createNotification(userId: $to, message: $message, idempotencyKey: $key) {
    replayed notification { id userId senderId message read sender { username } }
  }
}"""


def ask(client, query, **variables):
    """The data of `query` run by a gql client."""
    return client.execute(GraphQLRequest(query, variable_values=variables or None))


def error_of(client, query, **variables):
    """The first GraphQL error `query` gets."""
    with pytest.raises(TransportQueryError) as caught:
        ask(client, query, **variables)
    return caught.value.errors[0]
