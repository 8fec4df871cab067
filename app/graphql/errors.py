"""Herald's errors as GraphQL errors: the REST error's `code`, `status` and per-field
messages in `extensions`, and nothing of an unexpected error but that it happened.

REST maps errors once in `app.errors`; this maps the same exceptions the same
way, so `notification(id:)` of another user's is the same 404 "No such
notification." as `GET /api/notifications/<id>`.
"""

import logging
from collections.abc import Iterator
from http import HTTPStatus

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from werkzeug.exceptions import HTTPException

from app import errors
from app.brokers import BrokerError
from app.database import DATABASE_ERRORS

logger = logging.getLogger(__name__)


def _as_herald_error(error: Exception) -> errors.HeraldError | None:
    if isinstance(error, errors.HeraldError):
        return error
    if isinstance(error, DATABASE_ERRORS):
        return errors.database_unavailable(error)
    if isinstance(error, BrokerError):
        return errors.broker_unavailable(error)
    if isinstance(error, HTTPException) and error.code:
        known = errors.HeraldError(error.description or HTTPStatus(error.code).phrase)
        known.status_code = error.code
        return known
    return None


def extensions_of(status_code: int, fields=None) -> dict:
    """What `extensions` carries: REST's `code` and `status`, and `fields` when given."""
    extensions = {"code": status_code, "status": HTTPStatus(status_code).phrase}
    if fields:
        extensions["fields"] = fields
    return extensions


def converted(error: GraphQLError) -> GraphQLError:
    """`error` with Herald's extensions; an unexpected one logged and masked."""
    original = error.original_error
    if original is None:  # the document itself: syntax, validation, a limit
        extensions = {**extensions_of(400), **(error.extensions or {})}
        message = error.message
    elif (known := _as_herald_error(original)) is not None:
        extensions, message = extensions_of(known.status_code, known.errors), known.message
    else:
        logger.error("Unhandled error in a GraphQL resolver", exc_info=original)
        extensions, message = extensions_of(500), "An internal error occurred."
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions=extensions,
    )


def convert_all(errors_: list[GraphQLError] | None) -> list[GraphQLError] | None:
    return [converted(error) for error in errors_] if errors_ else errors_


class HeraldErrors(SchemaExtension):
    """Converts every error of an operation's result (`converted`)."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and getattr(result, "errors", None):
            result.errors = convert_all(result.errors)
