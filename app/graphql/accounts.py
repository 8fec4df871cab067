"""Accounts and tokens in GraphQL: `me`, `users`, `profile`; register, log in, refresh,
log out, change one's profile or password, remove one's picture, delete one's account;
an admin sets roles. Over `app.auth.service`, `app.auth.pictures` and `app.auth.tokens`.
(A picture is uploaded over REST: `PUT /api/users/me/picture` takes multipart bytes.)"""

import strawberry
from flask import current_app
from flask_jwt_extended import decode_token

from app import ratelimit, signals
from app.auth import pictures, schemas, service, tokens
from app.errors import Unauthorized
from app.graphql.context import admin, load, viewer
from app.graphql.types import Profile, Tokens, User, UserPage, meta_of, record, user_of
from app.relations import service as relations


def _tokens(pair: dict) -> Tokens:
    return Tokens(**pair)


def _revoked(user_id):
    """Let the sockets holding the revoked tokens be closed (`app.signals`)."""
    signals.tokens_revoked.send(current_app._get_current_object(), user_id=user_id)


def _access_expires():
    return current_app.config["JWT_ACCESS_TOKEN_EXPIRES"]


@strawberry.type
class AccountQueries:
    @strawberry.field(description="The signed-in user, with their live `connected` state")
    def me(self, info: strawberry.Info) -> User:
        return user_of(service.describe_user(viewer(info)), private=True)

    @strawberry.field(description="Users by name, with who is online")
    def users(
        self,
        info: strawberry.Info,
        page: int = 1,
        per_page: int = 20,
        username: str | None = None,
        online: bool | None = None,
    ) -> UserPage:
        caller = viewer(info)
        query = load(
            schemas.UserQuerySchema,
            {"page": page, "per_page": per_page, "username": username, "online": online},
        )
        items, meta = service.list_users(**query)
        return UserPage(
            items=[user_of(item, private=caller.is_admin) for item in items], meta=meta_of(meta)
        )

    @strawberry.field(description="A user as anyone sees them, with follow counts")
    def profile(self, info: strawberry.Info, user_id: strawberry.ID) -> Profile:
        caller = viewer(info)
        return record(relations.profile(user_id=user_id, viewer_id=caller.id))


@strawberry.type
class AccountMutations:
    @strawberry.mutation(description="Create an account")
    def register(self, info: strawberry.Info, username: str, email: str, password: str) -> User:
        body = load(
            schemas.RegisterSchema, {"username": username, "email": email, "password": password}
        )
        ratelimit.hit(current_app, "register_per_address", info.context.remote_addr)
        user = service.register_user(**body, rounds=current_app.config["BCRYPT_ROUNDS"])
        return user_of(service.user_view(user, online=False), private=True)

    @strawberry.mutation(description="Exchange a username or email and password for tokens")
    def login(
        self,
        info: strawberry.Info,
        password: str,
        username: str | None = None,
        email: str | None = None,
    ) -> Tokens:
        body = load(
            schemas.LoginSchema, {"username": username, "email": email, "password": password}
        )
        account = (body.get("username") or body.get("email")).strip().lower()
        ratelimit.hit(current_app, "login_per_address", info.context.remote_addr)
        ratelimit.hit(current_app, "login_per_account", account)
        user = service.authenticate(**body)
        return _tokens(tokens.issue_pair(user, access_expires=_access_expires()))

    @strawberry.mutation(
        description="Spend a refresh token for a new pair; reusing a spent one revokes all"
    )
    def refresh_token(self, refresh_token: str) -> Tokens:
        claims = _refresh_claims(refresh_token)
        user = service.get_user(claims["sub"])
        return _tokens(tokens.rotate(user, claims, access_expires=_access_expires()))

    @strawberry.mutation(description="Revoke this access token (and the refresh token given)")
    def logout(
        self, info: strawberry.Info, refresh_token: str | None = None, everywhere: bool = False
    ) -> bool:
        user = viewer(info)
        body = load(
            schemas.LogoutSchema, {"refresh_token": refresh_token, "everywhere": everywhere}
        )
        if body["everywhere"]:
            tokens.revoke_all(user)
        else:  # the refresh token is checked first: a rejected logout revokes nothing
            refresh_claims = tokens.claims_of_own(body.get("refresh_token"), user_id=user.id)
            tokens.revoke(info.context.claims)
            if refresh_claims:
                tokens.revoke(refresh_claims)
        _revoked(user.id)
        return True

    @strawberry.mutation(description="Change one's username, email, display name or bio")
    def update_profile(
        self,
        info: strawberry.Info,
        username: str | None = None,
        email: str | None = None,
        display_name: str | None = None,
        bio: str | None = None,
    ) -> User:
        user = viewer(info)
        changes = load(
            schemas.ProfileUpdateSchema,
            {"username": username, "email": email, "displayName": display_name, "bio": bio},
        )
        return user_of(service.describe_user(service.update_profile(user, **changes)), private=True)

    @strawberry.mutation(
        description="Change the password; every token is revoked, a new pair given"
    )
    def change_password(
        self, info: strawberry.Info, current_password: str, new_password: str
    ) -> Tokens:
        body = load(
            schemas.PasswordChangeSchema,
            {"current_password": current_password, "new_password": new_password},
        )
        user = service.change_password(
            viewer(info), **body, rounds=current_app.config["BCRYPT_ROUNDS"]
        )
        _revoked(user.id)
        return _tokens(tokens.issue_pair(user, access_expires=_access_expires()))

    @strawberry.mutation(description="Remove one's picture (idempotent)")
    def remove_picture(self, info: strawberry.Info) -> User:
        user = viewer(info)
        pictures.remove_picture(user)
        return user_of(service.describe_user(service.get_user(user.id)), private=True)

    @strawberry.mutation(
        description="Delete one's account, confirmed by the password: its notifications, "
        "messages, conversations, blocks and picture go, every token is revoked"
    )
    def delete_account(self, info: strawberry.Info, password: str) -> bool:
        body = load(schemas.AccountDeletionSchema, {"password": password})
        app = current_app._get_current_object()
        service.delete_account(viewer(info), password=body["password"], app=app)
        return True

    @strawberry.mutation(description="Make a user an admin or a plain user (admins only)")
    def set_role(self, info: strawberry.Info, user_id: strawberry.ID, role: str) -> User:
        admin(info)
        body = load(schemas.RoleSchema, {"role": role})
        user = service.get_user(user_id)
        service.set_role(username=user.username, role=body["role"])
        return user_of(service.describe_user(service.get_user(user_id)), private=True)


def _refresh_claims(token: str) -> dict:
    """The claims of a valid, unrevoked refresh token (the checks of REST's refresh)."""
    try:
        claims = decode_token(token)
    except Exception:
        raise Unauthorized("The refresh token is not valid.") from None
    if claims.get("type") != "refresh":
        raise Unauthorized("Only a refresh token can be refreshed.")
    if tokens.is_revoked(claims):
        raise Unauthorized("The token has been revoked.")
    return claims
