"""The token lifecycle: issuing, rotating and revoking JWTs, and checking them.

Access tokens are short-lived. A refresh token is used once: refreshing revokes
it and hands out a new pair, and presenting a refresh token that was already
used revokes every token of its user (it was stolen, or a client misbehaves).
Revoked tokens are listed by `jti` until they expire; a user's `token_version`,
carried by each token, revokes all of them at once.

`init_app` wires this into flask-jwt-extended and puts its errors in Herald's shape.
"""

from datetime import UTC, datetime

from flask import g, has_app_context
from flask_jwt_extended import create_access_token, create_refresh_token, decode_token

from app.auth.models import RevokedToken, User
from app.clock import now
from app.errors import Unauthorized, error_response


def issue_pair(user, *, access_expires):
    """A fresh access and refresh token for `user`."""
    claims = {"role": user.role, "ver": user.token_version}
    return {
        "access_token": create_access_token(identity=user.id, additional_claims=claims),
        "refresh_token": create_refresh_token(identity=user.id, additional_claims=claims),
        "token_type": "Bearer",
        "expires_in": access_expires,
    }


def rotate(user, claims, *, access_expires):
    """Spend a refresh token: revoke it and issue a new pair."""
    revoke(claims, reason="spent")
    return issue_pair(user, access_expires=access_expires)


def revoke(claims, *, reason="logout"):
    """Revoke one token by its decoded claims."""
    expires_at = datetime.fromtimestamp(claims["exp"], UTC)
    RevokedToken(
        id=claims["jti"], user_id=claims["sub"], expires_at=expires_at, reason=reason
    ).save()
    # Entries past their expiry are useless: the token is rejected as expired anyway.
    RevokedToken.objects(expires_at__lt=now()).delete()


def claims_of_own(token, *, user_id):
    """The claims of `token` (a refresh token sent to logout), which must be the user's."""
    if not token:
        return None
    try:
        claims = decode_token(token, allow_expired=True)
    except Exception:
        raise Unauthorized("The refresh token is not valid.") from None
    if claims["sub"] != user_id or claims.get("type") != "refresh":
        raise Unauthorized("That is not one of your refresh tokens.")
    return claims


def revoke_all(user):
    """Revoke every token `user` holds; returns the new token version."""
    User.objects(id=user.id).update_one(inc__token_version=1)
    user.reload()
    return user.token_version


def is_revoked(claims):
    """True when the token was revoked, or issued before its user's last revoke-all."""
    user = User.by_id(claims["sub"])
    if has_app_context():  # not in a broker consumer checking another instance's revocation
        g.herald_token_user = user  # the request's user lookup that follows reuses it
    if user is None:
        return True  # a deleted account: every token it had is dead (sockets included)
    if claims.get("ver", 0) != user.token_version:
        return True
    reason = RevokedToken.reason_for(claims["jti"])
    if reason is None:
        return False
    if reason == "spent":
        revoke_all(user)  # a spent refresh token came back: assume it was stolen
    return True


# Where flask-jwt-extended keeps the request's decoded token and its user.
_REQUEST_IDENTITY = (
    "_jwt_extended_jwt",
    "_jwt_extended_jwt_header",
    "_jwt_extended_jwt_user",
    "_jwt_extended_jwt_location",
)


def forget_request_identity():
    """Drop the decoded token and the loaded `User` from this request's context.

    A WebSocket handler runs as long as its socket is open, and so does its
    request context: what it needs of the token it copies first, and this frees
    the rest (about 1 KiB per idle socket). `current_user` and `get_jwt()` are not
    usable afterwards.
    """
    for name in _REQUEST_IDENTITY:
        g.pop(name, None)


def init_app(jwt):
    @jwt.user_identity_loader
    def identity(user_id):
        return str(user_id)

    @jwt.token_in_blocklist_loader
    def blocked(_header, payload):
        return is_revoked(payload)

    @jwt.user_lookup_loader
    def load_user(_header, payload):
        user = g.pop("herald_token_user", None)
        return user if user is not None else User.by_id(payload["sub"])

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
