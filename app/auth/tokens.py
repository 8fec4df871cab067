"""How flask-jwt-extended finds the user of a token, and its errors in Herald's shape."""

from app.auth.models import User
from app.errors import error_response


def init_app(jwt):
    @jwt.user_identity_loader
    def identity(user_id):
        return str(user_id)

    @jwt.user_lookup_loader
    def load_user(_header, payload):
        return User.objects(id=payload["sub"]).first()

    @jwt.user_lookup_error_loader
    def unknown_user(_header, _payload):
        return error_response(401, "The user of this token no longer exists.")

    @jwt.unauthorized_loader
    def missing_token(reason):
        return error_response(401, "Authentication required: send a bearer access token.")

    @jwt.invalid_token_loader
    def invalid_token(reason):
        return error_response(401, f"Invalid token: {reason}.")

    @jwt.expired_token_loader
    def expired_token(_header, payload):
        kind = payload.get("type", "access")
        return error_response(401, f"The {kind} token has expired.")

    @jwt.revoked_token_loader
    def revoked_token(_header, _payload):
        return error_response(401, "The token has been revoked.")

    @jwt.needs_fresh_token_loader
    def needs_fresh(_header, _payload):
        return error_response(401, "A fresh login is required.")

    @jwt.token_verification_failed_loader
    def verification_failed(_header, _payload):
        return error_response(401, "The token was rejected.")
