"""Role checks shared by the blueprints."""

from functools import wraps

from flask_jwt_extended import current_user

from app.errors import Forbidden


def admin_required(view):
    """Let only admins through; use below `jwt_required`."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_admin:
            raise Forbidden("This operation is for admins only.")
        return view(*args, **kwargs)

    return wrapper
