"""Who asks, and with what: the context each resolver gets, and its input checks.

The caller is authenticated by the same bearer JWT as REST, through
flask-jwt-extended (revocation included, `app.auth.tokens`). A resolver that
needs a user calls `viewer(info)`: without a valid token it is the same 401 as
REST's, as a GraphQL error. Input goes through the REST endpoints' marshmallow
schemas (`load`), so no rule is written twice.
"""

from dataclasses import dataclass, field
from typing import Any

import marshmallow as ma
from flask import current_app
from flask_jwt_extended import get_jwt, verify_jwt_in_request
from flask_jwt_extended.exceptions import JWTExtendedException
from jwt import ExpiredSignatureError, PyJWTError

from app.auth.models import User
from app.errors import Forbidden, Unauthorized, Unprocessable
from app.extensions import current_node


@dataclass
class Context:
    """What one operation knows of its caller."""

    user: User | None = None
    claims: dict = field(default_factory=dict)
    auth_error: str | None = None  # why the token sent was refused, if one was
    remote_addr: str | None = None
    # Set by a WebSocket connection: the events are executed with the user fixed.
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def node(self):
        return current_node()

    @property
    def config(self):
        return current_app.config


def from_request(request) -> Context:
    """The context of an HTTP request: its bearer token checked, if it sent one."""
    context = Context(remote_addr=request.remote_addr)
    try:
        if verify_jwt_in_request(optional=True, locations=["headers"]):
            from flask_jwt_extended import current_user

            context.user, context.claims = current_user, dict(get_jwt())
    except ExpiredSignatureError:
        context.auth_error = "The access token has expired."
    except (JWTExtendedException, PyJWTError) as error:
        context.auth_error = _refusal(error)
    return context


def _refusal(error) -> str:
    name = type(error).__name__
    if name == "RevokedTokenError":
        return "The token has been revoked."
    if name == "WrongTokenError":
        return "Only an access token is accepted here."
    if name == "UserLookupError":
        return "The user of this token no longer exists."
    return f"Invalid token: {error}."


def viewer(info) -> User:
    """The signed-in caller; a 401 (as a GraphQL error) without a valid access token."""
    context: Context = info.context
    if context.user is None:
        raise Unauthorized(
            context.auth_error or "Authentication required: send a bearer access token."
        )
    return context.user


def admin(info) -> User:
    user = viewer(info)
    if not user.is_admin:
        raise Forbidden("This operation is for admins only.")
    return user


def load(schema: type[ma.Schema], data: dict) -> dict:
    """`data` loaded by a REST schema; its messages per field in a 422, as REST gives them."""
    given = {name: value for name, value in data.items() if value is not None}
    try:
        return schema().load(given)
    except ma.ValidationError as error:
        raise Unprocessable("The request failed validation.", errors=error.messages) from None
