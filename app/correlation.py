"""The request id: one name for everything a request causes, on every instance.

Taken from the client's `X-Request-ID` (a bounded, log-safe token) or made
here, it is returned in the response, put on every log record of the request
(`RequestIdFilter`), stored on the notification's outbox entry and sent with the
broker message (`BROKER_HEADER`), so the consumer's and the socket delivery's
log lines of that notification, on any instance, carry it too.

A leaf module: anything may read the current id; only the request hooks here
and the consumer set it.
"""

import contextvars
import logging
import re
import uuid

HEADER = "X-Request-ID"
BROKER_HEADER = "herald-request-id"
MAX_LENGTH = 200  # Heroku's ids go up to 200 characters
# Letters, digits and the punctuation of UUIDs, base64 and trace ids: no spaces,
# quotes or control characters, so an id cannot forge or break a log line.
_SAFE = re.compile(r"[A-Za-z0-9._:+=/@-]+")

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "herald_request_id", default=None
)


def is_valid(value: str) -> bool:
    return 0 < len(value) <= MAX_LENGTH and _SAFE.fullmatch(value) is not None


def new_request_id() -> str:
    return uuid.uuid4().hex


def current() -> str | None:
    """The id of the request (or broker message) being handled, if any."""
    return _current.get()


def bind(request_id: str | None) -> contextvars.Token:
    """Make `request_id` the current one in this context (thread or greenlet)."""
    return _current.set(request_id)


def unbind(token: contextvars.Token) -> None:
    _current.reset(token)


def adopt(headers: dict[str, str]) -> None:
    """Take the id a broker message carries (or none): the consumer sets it per message."""
    _current.set(headers.get(BROKER_HEADER))


def broker_headers() -> dict[str, str]:
    """The headers that carry the current id to other instances ({} without one)."""
    request_id = _current.get()
    return {BROKER_HEADER: request_id} if request_id else {}


class RequestIdFilter(logging.Filter):
    """Puts `request_id` on every record ("-" outside a request), for every format."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _current.get() or "-"
        return True
