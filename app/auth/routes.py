"""Auth and user endpoints: thin views over `app.auth.service`."""

from flask import current_app, request
from flask.views import MethodView
from flask_jwt_extended import current_user, get_jwt, jwt_required
from flask_smorest import Blueprint

from app import ratelimit
from app.auth import schemas, service, tokens
from app.errors import ErrorSchema
from app.realtime import runtime_of
from app.security import admin_required

blp = Blueprint("auth", __name__, url_prefix="/api", description="Accounts and tokens")
BEARER = [{"bearerAuth": []}]


def _access_expires():
    return current_app.config["JWT_ACCESS_TOKEN_EXPIRES"]


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
    @jwt_required(refresh=True)
    @blp.response(200, schemas.TokenSchema)
    @blp.alt_response(401, schema=ErrorSchema, description="Missing or invalid refresh token")
    @blp.doc(
        security=BEARER,
        description="Send the refresh token as the bearer token. It is spent: the answer "
        "carries a new refresh token, and reusing a spent one revokes all of the user's tokens.",
    )
    def post(self):
        """Exchange a refresh token for a new token pair"""
        return tokens.rotate(current_user, get_jwt(), access_expires=_access_expires())


@blp.route("/logout")
class Logout(MethodView):
    @jwt_required()
    @blp.arguments(schemas.LogoutSchema, required=False)
    @blp.response(204)
    @blp.alt_response(401, schema=ErrorSchema, description="Not authenticated")
    @blp.doc(security=BEARER)
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
        runtime_of(current_app).announce_revocation(current_user.id)


@blp.route("/users/me/password")
class Password(MethodView):
    @jwt_required()
    @blp.arguments(schemas.PasswordChangeSchema)
    @blp.response(200, schemas.TokenSchema)
    @blp.alt_response(401, schema=ErrorSchema, description="Wrong current password")
    @blp.doc(security=BEARER)
    def put(self, body):
        """Change the password; every token is revoked and a new pair returned"""
        user = service.change_password(
            current_user, **body, rounds=current_app.config["BCRYPT_ROUNDS"]
        )
        runtime_of(current_app).announce_revocation(user.id)
        return tokens.issue_pair(user, access_expires=_access_expires())


@blp.route("/users/me")
class Me(MethodView):
    @jwt_required()
    @blp.response(200, schemas.UserSchema)
    @blp.alt_response(401, schema=ErrorSchema, description="Not authenticated")
    @blp.doc(security=BEARER)
    def get(self):
        """The signed-in user, with their live `connected` state"""
        return service.describe_user(current_user)


@blp.route("/users")
class Users(MethodView):
    @jwt_required()
    @blp.arguments(schemas.UserQuerySchema, location="query")
    @blp.response(200, schemas.UserPageSchema)
    @blp.alt_response(401, schema=ErrorSchema, description="Not authenticated")
    @blp.doc(security=BEARER)
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
    @jwt_required()
    @admin_required
    @blp.arguments(schemas.RoleSchema)
    @blp.response(200, schemas.UserSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="Admins only")
    @blp.alt_response(404, schema=ErrorSchema, description="No such user")
    @blp.doc(security=BEARER)
    def put(self, body, user_id):
        """Make a user an admin or a plain user (admins only)"""
        user = service.get_user(user_id)
        service.set_role(username=user.username, role=body["role"])
        return service.describe_user(service.get_user(user_id))
