"""Registration, login and user look-ups; plain functions, no Flask request inside."""

import logging

import bcrypt
from mongoengine.errors import NotUniqueError

from app import presence, signals
from app.auth import tokens
from app.auth.models import User
from app.auth.schemas import PASSWORD_MAX_BYTES
from app.errors import Conflict, Forbidden, NotFound, Unauthorized
from app.pagination import page_of

logger = logging.getLogger(__name__)

# Checked against when the user does not exist, so a wrong username costs as
# much time as a wrong password and the timing tells nothing.
_DUMMY_HASH = bcrypt.hashpw(b"not-a-real-password", bcrypt.gensalt(4)).decode()


def hash_password(password, *, rounds):
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds)).decode()


def password_matches(password, password_hash):
    encoded = password.encode()
    if len(encoded) > PASSWORD_MAX_BYTES:  # never accepted when set, so never this user's
        return False
    return bcrypt.checkpw(encoded, password_hash.encode())


def _ensure_free(*, username=None, email=None, user_id=None):
    """409 when another user than `user_id` has this username or email."""
    taken = {}
    if username and User.objects(username=username, id__ne=user_id).first():
        taken["username"] = ["This username is taken."]
    if email and User.objects(email=email, id__ne=user_id).first():
        taken["email"] = ["This email is already registered."]
    if taken:
        raise Conflict("The username or email is already registered.", errors=taken)


def register_user(*, username, email, password, rounds, role="user"):
    """Create a user; 409 when the username or email is taken."""
    email = email.strip().lower()
    _ensure_free(username=username, email=email)
    user = User(username=username, email=email, role=role)
    user.password_hash = hash_password(password, rounds=rounds)
    try:
        user.save(force_insert=True)
    except NotUniqueError:  # a concurrent registration won the race
        raise Conflict("The username or email is already registered.") from None
    return user


def authenticate(*, password, username=None, email=None):
    """The user with these credentials; 401 without saying which part was wrong."""
    if username:
        user = User.objects(username=username).first()
    else:
        user = User.objects(email=email.strip().lower()).first()
    if not password_matches(password, user.password_hash if user else _DUMMY_HASH) or not user:
        raise Unauthorized("Invalid credentials.")
    return user


def change_password(user, *, current_password, new_password, rounds):
    """Set a new password and revoke every token the user holds."""
    if not password_matches(current_password, user.password_hash):
        raise Unauthorized("The current password is wrong.")
    User.objects(id=user.id).update_one(
        set__password_hash=hash_password(new_password, rounds=rounds), inc__token_version=1
    )
    user.reload()
    return user


def update_profile(user, **changes):
    """Change some of `username`, `email`, `display_name`, `bio`; 409 (and no change)
    when the username or email is another user's."""
    if changes.get("email"):
        changes["email"] = changes["email"].strip().lower()
    _ensure_free(username=changes.get("username"), email=changes.get("email"), user_id=user.id)
    updates = {f"set__{name}": value for name, value in changes.items()}
    try:
        User.objects(id=user.id).update_one(**updates)
    except NotUniqueError:  # taken by a concurrent update or registration
        raise Conflict("The username or email is already registered.") from None
    user.reload()
    return user


def delete_account(user, *, password, app):
    """Delete `user` and all they own, once their password confirms it (403 otherwise).

    Their tokens are revoked first, so no request of theirs gets in while the
    domains delete what is theirs (`signals.user_deleted`), and their sockets close.
    A deletion that fails half-way can be retried: the password still works.
    """
    if not password_matches(password, user.password_hash):
        raise Forbidden("The password is wrong; nothing was deleted.")
    tokens.revoke_all(user)
    signals.tokens_revoked.send(app, user_id=user.id)
    signals.user_deleted.send(app, user_id=user.id)
    User.objects(id=user.id).delete()
    logger.info("User %s deleted their account", user.id)


def get_user(user_id):
    user = User.objects(id=user_id).first()
    if user is None:
        raise NotFound("No such user.")
    return user


def describe_user(user):
    """A user with their live `connected` state."""
    return user_view(user, online=presence.is_online(user.id))


def user_view(user, *, online):
    return {
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "role": user.role,
        "connected": online,
        "created_at": user.created_at,
        "display_name": user.display_name,
        "bio": user.bio or "",
        "picture_url": picture_url(user),
    }


def picture_url(user):
    """The URL of `user`'s picture, versioned by its ETag so a new one is never cached
    under the old one's URL; None without a picture."""
    if not user.picture_etag:
        return None
    return f"/api/users/{user.id}/picture?v={user.picture_etag[:12]}"


def list_users(*, page, per_page, username=None, online=None):
    """A page of users, optionally only one username or only those online."""
    users = User.objects.order_by("username")
    if username:
        users = users.filter(username=username)
    if online is not None:
        online_ids = presence.online_user_ids()
        users = (
            users.filter(id__in=list(online_ids))
            if online
            else users.filter(id__nin=list(online_ids))
        )
    items, meta = page_of(users, page=page, per_page=per_page)
    online_ids = presence.online_user_ids(user_ids=[u.id for u in items])
    return [user_view(u, online=u.id in online_ids) for u in items], meta


def ensure_admin(*, username, email, password, rounds):
    """Create the admin account, or promote and re-password an existing one."""
    user = User.objects(username=username).first()
    if user is None:  # an admin who renamed themselves (PATCH /api/users/me) keeps the email
        user = User.objects(email=email.strip().lower()).first()
    if user is None:
        try:
            return register_user(
                username=username, email=email, password=password, rounds=rounds, role="admin"
            )
        except Conflict:  # another worker bootstrapped it at the same moment
            user = User.objects(username=username).first()
            if user is None:
                raise
    if user.role != "admin" or not password_matches(password, user.password_hash):
        user.role = "admin"
        user.password_hash = hash_password(password, rounds=rounds)
        user.save()
        logger.info("Bootstrap admin %s updated", username)
    return user


def set_role(*, username, role):
    updated = User.objects(username=username).update_one(set__role=role)
    if not updated:
        raise NotFound(f"No user named {username!r}.")
