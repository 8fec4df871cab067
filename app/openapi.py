"""OpenAPI additions: the errors every operation can answer, documented once.

flask-smorest documents what each view declares; the errors that come from
the layers around the views (a body that is not JSON, a missing token, a
database outage) would otherwise be missing from every operation.
"""

from apispec import BasePlugin

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
