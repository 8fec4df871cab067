"""Flask extensions, created here unbound and bound in `create_app` with `init_app`;
and `current_node()`, the one way to this instance's background parts."""

from typing import TYPE_CHECKING

from flask import current_app
from flask_jwt_extended import JWTManager
from flask_smorest import Api
from flask_sock import Sock

from app import errors

if TYPE_CHECKING:
    from app.node import Node

#: Where `app.node.init_app` keeps the app's `Node` in `app.extensions`.
NODE = "herald.node"


class HeraldApi(Api):
    """flask-smorest's Api, documenting and answering errors in Herald's one shape."""

    ERROR_SCHEMA = errors.ErrorSchema

    def handle_http_exception(self, error):
        """flask-smorest's public hook for every `HTTPException` (abort, webargs, 404s)."""
        return errors.handle_http_exception(error)


api = HeraldApi()
jwt = JWTManager()
sock = Sock()


def current_node() -> "Node":
    """The current app's `Node`: its broker, outbox, hub and consumer."""
    return current_app.extensions[NODE]
