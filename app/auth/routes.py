"""Auth and user endpoints: thin views over `app.auth.service`."""

from flask import Response, current_app, request
from flask.views import MethodView
from flask_jwt_extended import current_user, get_jwt

from app import ratelimit, request_limits, signals
from app.auth import pictures, schemas, service, tokens
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

    @blp.authenticated
    @blp.arguments(schemas.ProfileUpdateSchema)
    @blp.response(200, schemas.UserSchema)
    @blp.alt_response(409, schema=ErrorSchema, description="Username or email taken")
    def patch(self, body):
        """Change one's username, email, display name or bio"""
        return service.describe_user(service.update_profile(current_user, **body))

    @blp.authenticated
    @blp.arguments(schemas.AccountDeletionSchema)
    @blp.response(204)
    @blp.alt_response(403, schema=ErrorSchema, description="Wrong password: nothing deleted")
    @blp.doc(
        description="Deletes the account with its notifications, messages, conversations, "
        "blocks and picture; every token is revoked and every socket closed."
    )
    def delete(self, body):
        """Delete one's account, confirmed by the password"""
        app = current_app._get_current_object()
        service.delete_account(current_user, password=body["password"], app=app)


@blp.route("/users/me/picture")
class MyPicture(MethodView):
    @blp.authenticated
    @blp.arguments(schemas.PictureUploadSchema, location="files")
    @blp.response(200, schemas.UserSchema)
    @blp.alt_response(413, schema=ErrorSchema, description="Larger than PICTURE_MAX_BYTES")
    @blp.alt_response(415, schema=ErrorSchema, description="Not multipart, or not PNG/JPEG/WebP")
    @blp.alt_response(422, schema=ErrorSchema, description="Not a picture Herald can decode")
    @request_limits.accepts_upload("PICTURE_MAX_BYTES")
    def put(self, files):
        """Upload one's picture: re-encoded as WebP, at most PICTURE_MAX_SIDE pixels a side"""
        config = current_app.config
        user = pictures.set_picture(
            current_user,
            upload=files["picture"],
            max_bytes=config["PICTURE_MAX_BYTES"],
            max_pixels=config["PICTURE_MAX_PIXELS"],
            max_side=config["PICTURE_MAX_SIDE"],
        )
        return service.describe_user(user)

    @blp.authenticated
    @blp.response(204)
    def delete(self):
        """Remove one's picture (idempotent)"""
        pictures.remove_picture(current_user)


PICTURE_RESPONSES = {
    "200": {
        "description": "The picture",
        "content": {pictures.STORED_TYPE: {"schema": {"type": "string", "format": "binary"}}},
    },
    "304": {"description": "Not modified since the ETag given in If-None-Match"},
}


@blp.route("/users/<user_id>/picture")
class UserPicture(MethodView):
    @blp.doc(responses=PICTURE_RESPONSES)
    @blp.alt_response(404, schema=ErrorSchema, description="No such user, or no picture")
    def get(self, user_id):
        """A user's picture, for anyone (an <img> sends no token); cached by its ETag"""
        picture = pictures.get_picture(user_id)
        response = Response(picture.data, mimetype=picture.content_type)
        response.set_etag(picture.etag)
        response.cache_control.public = True
        response.cache_control.max_age = current_app.config["PICTURE_CACHE_MAX_AGE"]
        response.cache_control.must_revalidate = True
        return response.make_conditional(request)


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
