"""The API's blueprint, with Herald's two access rules as decorators.

`@blp.authenticated` lets a request through with a valid access token (or, with
`refresh=True`, a refresh token) and documents the bearer scheme, which also
documents the 401 answers (`app.openapi`). `@blp.admin_only` does the same and
then lets only admins through, documenting the 403. Either goes above the
view's other decorators, so access is checked before the body is parsed.
"""

from functools import wraps

import flask_smorest
from flask_jwt_extended import current_user, jwt_required

from app.errors import ErrorSchema, Forbidden

BEARER = [{"bearerAuth": []}]


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint plus `authenticated` and `admin_only`."""

    def authenticated(self, view=None, *, refresh=False):
        """Require a valid token; usable bare or as `authenticated(refresh=True)`."""

        def decorate(view):
            return jwt_required(refresh=refresh)(self.doc(security=BEARER)(view))

        return decorate(view) if view is not None else decorate

    def admin_only(self, view):
        """Require a valid access token of an admin."""

        @wraps(view)
        def only_admins(*args, **kwargs):
            if not current_user.is_admin:
                raise Forbidden("This operation is for admins only.")
            return view(*args, **kwargs)

        documented = self.alt_response(403, schema=ErrorSchema, description="Admins only")
        return self.authenticated(documented(only_admins))
