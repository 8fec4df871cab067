"""The one error shape of Herald: `{code, status, message, errors}` for every error.

Domain code raises `HeraldError` subclasses; HTTP, JWT and unexpected errors are
all mapped here, once, so no response ever carries a stack trace.
"""

import logging
from http import HTTPStatus

import marshmallow as ma
from flask import jsonify

from app.brokers import BrokerError
from app.database import DATABASE_ERRORS

logger = logging.getLogger(__name__)


class ErrorSchema(ma.Schema):
    """What every error response carries."""

    code = ma.fields.Integer(required=True, metadata={"description": "HTTP status code"})
    status = ma.fields.String(required=True, metadata={"description": "HTTP status name"})
    message = ma.fields.String(required=True)
    errors = ma.fields.Dict(
        allow_none=True, metadata={"description": "Per-field messages, when the input was invalid"}
    )


class HeraldError(Exception):
    """A failure the client is told about, with its HTTP status."""

    status_code = 400

    def __init__(self, message, errors=None, headers=None):
        super().__init__(message)
        self.message = message
        self.errors = errors
        self.headers = headers or {}


class NotFound(HeraldError):
    status_code = 404


class Conflict(HeraldError):
    status_code = 409


class Forbidden(HeraldError):
    status_code = 403


class Unauthorized(HeraldError):
    status_code = 401


class PayloadTooLarge(HeraldError):
    status_code = 413


class UnsupportedMediaType(HeraldError):
    status_code = 415


class Unprocessable(HeraldError):
    status_code = 422


class ServiceUnavailable(HeraldError):
    status_code = 503


def error_response(status_code, message=None, errors=None, headers=None):
    """Build the JSON error response every handler returns."""
    status = HTTPStatus(status_code)
    body = {
        "code": status_code,
        "status": status.phrase,
        "message": message or status.description or status.phrase,
        "errors": errors,
    }
    response = jsonify(body)
    response.status_code = status_code
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def handle_herald_error(error):
    return error_response(error.status_code, error.message, error.errors, error.headers)


def handle_http_exception(error):
    # flask-smorest's abort() and webargs put field messages in `data`.
    data = getattr(error, "data", None) or {}
    errors = data.get("messages") or data.get("errors")
    message = data.get("message") or error.description
    if error.code == 422 and errors:
        message = "The request failed validation."
    elif error.code == 400 and errors:  # webargs could not parse the body
        message = "The request body is not valid JSON."
    headers = {}
    if error.code == 405 and error.valid_methods:
        headers["Allow"] = ", ".join(error.valid_methods)
    return error_response(error.code, message, errors, headers)


def handle_unexpected(error):
    logger.exception("Unhandled error")
    return error_response(500, "An internal error occurred.")


def init_app(app):
    """Route every error other than an `HTTPException` through `error_response`."""
    app.register_error_handler(HeraldError, handle_herald_error)
    # HTTPException goes to `handle_http_exception` through flask-smorest's public
    # hook (`app.extensions.HeraldApi`), which registers it for the whole app.
    for database_error in DATABASE_ERRORS:
        app.register_error_handler(
            database_error, lambda error: handle_herald_error(database_unavailable(error))
        )
    app.register_error_handler(
        BrokerError, lambda error: handle_herald_error(broker_unavailable(error))
    )
    app.register_error_handler(Exception, handle_unexpected)


def database_unavailable(error):
    logger.error("Database unavailable: %s", error)
    return ServiceUnavailable(
        "The database is unavailable; nothing was changed. Try again shortly.",
        headers={"Retry-After": "5"},
    )


def broker_unavailable(error):
    logger.error("Broker unavailable: %s", error)
    return ServiceUnavailable(
        "The message broker is unavailable. Try again shortly.", headers={"Retry-After": "5"}
    )
