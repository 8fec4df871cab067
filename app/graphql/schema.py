"""The GraphQL schema: each domain's queries and mutations merged, with the limits
and the error conversion as extensions.

`flask --app wsgi graphql-schema` (or `python -m app.graphql.schema`) prints it
in SDL; `schema.graphql` at the repository root is that output.
"""

import strawberry
from strawberry.tools import merge_types

from app.graphql import errors, limits
from app.graphql.accounts import AccountMutations, AccountQueries
from app.graphql.audiences import AudienceMutations, AudienceQueries
from app.graphql.channels import ChannelMutations, ChannelQueries
from app.graphql.conversations import ConversationMutations, ConversationQueries
from app.graphql.dead_letters import DeadLetterMutations, DeadLetterQueries
from app.graphql.notifications import NotificationMutations, NotificationQueries
from app.graphql.social import SocialMutations, SocialQueries
from app.graphql.subscriptions import Subscription

Query = merge_types(
    "Query",
    (
        AccountQueries,
        NotificationQueries,
        AudienceQueries,
        SocialQueries,
        ConversationQueries,
        ChannelQueries,
        DeadLetterQueries,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        AccountMutations,
        NotificationMutations,
        AudienceMutations,
        SocialMutations,
        ConversationMutations,
        ChannelMutations,
        DeadLetterMutations,
    ),
)


class HeraldSchema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None) -> None:
        """Nothing: strawberry would log every error with its traceback, a 404 too;
        `errors.HeraldErrors` logs the unexpected ones."""


def build_schema(config) -> strawberry.Schema:
    """The schema with the limits of `config` (one per app: tests change them)."""
    return HeraldSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[*limits.extensions(config), errors.HeraldErrors],
    )


def sdl() -> str:
    """The schema in SDL, as checked in at `schema.graphql`."""
    schema = strawberry.Schema(query=Query, mutation=Mutation, subscription=Subscription)
    return schema.as_str() + "\n"


if __name__ == "__main__":
    print(sdl(), end="")
