"""The MongoDB connection: bound in the app factory, never at import time."""

import mongoengine
from pymongo.errors import AutoReconnect, ConnectionFailure, ServerSelectionTimeoutError

# Errors that mean "the database cannot be reached", mapped to 503.
DATABASE_ERRORS = (AutoReconnect, ConnectionFailure, ServerSelectionTimeoutError)


_bound_uri = None


def init_app(app):
    """Connect mongoengine's default alias to MONGODB_URI.

    mongoengine's connection is per process; apps built with the same URI (two
    instances in one test process) share it instead of closing each other's.
    """
    global _bound_uri
    if _bound_uri == app.config["MONGODB_URI"]:
        return
    mongoengine.disconnect()
    _bound_uri = app.config["MONGODB_URI"]
    timeout = app.config["MONGODB_TIMEOUT_MS"]
    mongoengine.connect(
        host=app.config["MONGODB_URI"],
        uuidRepresentation="standard",
        tz_aware=True,
        serverSelectionTimeoutMS=timeout,
        connectTimeoutMS=timeout,
        socketTimeoutMS=max(timeout, 10000),
    )


def ping():
    """True when the database answers."""
    try:
        mongoengine.get_db().client.admin.command("ping")
    except DATABASE_ERRORS:
        return False
    return True
