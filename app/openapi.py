"""The OpenAPI document's own parts: the API description, and the errors every
operation can answer, documented once.

flask-smorest documents what each view declares; the errors that come from
the layers around the views (a body that is not JSON, a missing token, a
database outage) would otherwise be missing from every operation. The
WebSocket has no operation of its own, so the description tells of it, from
the frame list in `app.realtime.protocol`.
"""

from apispec import BasePlugin

from app.realtime import protocol

_OVERVIEW = """\
Herald stores notifications, pushes them through a message broker and delivers
them to every WebSocket the recipient has open.

**Authentication.** `POST /api/login` returns an access token; send it as
`Authorization: Bearer <token>`.

**Errors.** Every error has the shape `{code, status, message, errors}`.

**Realtime.** `GET /ws?token=<access token>` (or the `Authorization` header on
the handshake) upgrades to a WebSocket; a missing or bad token gets 401.
Reconnect with `since=<last notification id seen>` to receive what was missed,
oldest first, before `ready`. Frames are JSON objects with a `type`.
"""


def _frame_table(title, kinds):
    rows = "".join(f"| `{kind.shape}` | {kind.when} |\n" for kind in kinds)
    return f"\n{title}\n\n| frame | when |\n|---|---|\n{rows}"


API_DESCRIPTION = (
    _OVERVIEW
    + _frame_table("The server sends:", protocol.SERVER_FRAMES)
    + _frame_table("The client sends:", protocol.CLIENT_FRAMES)
)

ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
BODY_ERRORS = {
    "400": "The body is not valid JSON, or nests too deep",
    "413": "The body is too large",
    "415": "The body is not JSON",
}
TOKEN_ERRORS = {"401": "Missing, invalid, expired or revoked token"}
SERVICE_ERRORS = {"503": "The database or the message broker is unavailable"}


class CommonErrorsPlugin(BasePlugin):
    """Adds the body, token and outage errors to each operation that can give them."""

    def operation_helper(self, path=None, operations=None, **kwargs):
        for operation in (operations or {}).values():
            errors = dict(SERVICE_ERRORS)
            if "requestBody" in operation:
                errors.update(BODY_ERRORS)
            if operation.get("security"):
                errors.update(TOKEN_ERRORS)
            responses = operation.setdefault("responses", {})
            for status, description in errors.items():
                responses.setdefault(status, {"description": description, "content": ERROR})
