"""Auth and user endpoints: thin views over `app.auth.service`."""

from flask import current_app, request
from flask.views import MethodView
from flask_jwt_extended import current_user, get_jwt

from app import ratelimit, signals
from app.auth import schemas, service, tokens
from app.errors import ErrorSchema
from app.security import Blueprint

blp = Blueprint("auth", __name__, url_prefix="/api", description="Accounts and tokens")


def _access_expires():
    return current_app.config["JWT_ACCESS_TOKEN_EXPIRES"]


def _tokens_revoked(user_id):
    """Let the sockets holding the revoked tokens be closed (`app.signals`)."""
    signals.tokens_revoked.send(current_app._get_current_object(), user_id=user_id)


@blp.route("/register")
class Register(MethodView):
    @blp.arguments(schemas.RegisterSchema)
    @blp.response(201, schemas.UserSchema)
    @blp.alt_response(409, schema=ErrorSchema, description="Username or email taken")
    @blp.alt_response(429, schema=ErrorSchema, description="Too many attempts")
    def post(self, body):
        """Create an account"""
        ratelimit.hit(current_app, "register_per_address", request.remote_addr)
        user = service.register_user(**body, rounds=current_app.config["BCRYPT_ROUNDS"])
        return service.user_view(user, online=False)


@blp.route("/login")
class Login(MethodView):
    @blp.arguments(schemas.LoginSchema)
    @blp.response(200, schemas.TokenSchema)
    @blp.alt_response(401, schema=ErrorSchema, description="Invalid credentials")
    @blp.alt_response(429, schema=ErrorSchema, description="Too many attempts")
    def post(self, body):
        """Exchange a username or email and password for tokens"""
        account = (body.get("username") or body.get("email")).strip().lower()
        ratelimit.hit(current_app, "login_per_address", request.remote_addr)
        ratelimit.hit(current_app, "login_per_account", account)
        user = service.authenticate(**body)
        return tokens.issue_pair(user, access_expires=_access_expires())


@blp.route("/token/refresh")
class TokenRefresh(MethodView):
    @blp.authenticated(refresh=True)
    @blp.response(200, schemas.TokenSchema)
    @blp.doc(
        description="Send the refresh token as the bearer token. It is spent: the answer "
        "carries a new refresh token, and reusing a spent one revokes all of the user's tokens.",
    )
    def post(self):
        """Exchange a refresh token for a new token pair"""
        return tokens.rotate(current_user, get_jwt(), access_expires=_access_expires())


@blp.route("/logout")
class Logout(MethodView):
    @blp.authenticated
    @blp.arguments(schemas.LogoutSchema, required=False)
    @blp.response(204)
    def post(self, body):
        """Revoke this access token (and the refresh token given, or every token)"""
        if body.get("everywhere"):
            tokens.revoke_all(current_user)
        else:
            # The refresh token is checked first: a rejected logout revokes nothing.
            refresh = body.get("refresh_token")
            refresh_claims = tokens.claims_of_own(refresh, user_id=current_user.id)
            tokens.revoke(get_jwt())
            if refresh_claims:
                tokens.revoke(refresh_claims)
        _tokens_revoked(current_user.id)


@blp.route("/users/me/password")
class Password(MethodView):
    @blp.authenticated
    @blp.arguments(schemas.PasswordChangeSchema)
    @blp.response(200, schemas.TokenSchema)
    @blp.alt_response(401, schema=ErrorSchema, description="Wrong current password")
    def put(self, body):
        """Change the password; every token is revoked and a new pair returned"""
        user = service.change_password(
            current_user, **body, rounds=current_app.config["BCRYPT_ROUNDS"]
        )
        _tokens_revoked(user.id)
        return tokens.issue_pair(user, access_expires=_access_expires())


@blp.route("/users/me")
class Me(MethodView):
    @blp.authenticated
    @blp.response(200, schemas.UserSchema)
    def get(self):
        """The signed-in user, with their live `connected` state"""
        return service.describe_user(current_user)


@blp.route("/users")
class Users(MethodView):
    @blp.authenticated
    @blp.arguments(schemas.UserQuerySchema, location="query")
    @blp.response(200, schemas.UserPageSchema)
    def get(self, query):
        """Users by name, with who is online; email and role are shown to admins only"""
        items, meta = service.list_users(**query)
        if not current_user.is_admin:
            items = [
                {k: v for k, v in item.items() if k not in ("email", "role")} for item in items
            ]
        return {"items": items, "meta": meta}


@blp.route("/users/<user_id>/role")
class UserRole(MethodView):
    @blp.admin_only
    @blp.arguments(schemas.RoleSchema)
    @blp.response(200, schemas.UserSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such user")
    def put(self, body, user_id):
        """Make a user an admin or a plain user (admins only)"""
        user = service.get_user(user_id)
        service.set_role(username=user.username, role=body["role"])
        return service.describe_user(service.get_user(user_id))
