"""Registration, login and user look-ups; plain functions, no Flask request inside."""

import logging

import bcrypt
from mongoengine.errors import NotUniqueError

from app import presence
from app.auth.models import User
from app.auth.schemas import PASSWORD_MAX_BYTES
from app.errors import Conflict, NotFound, Unauthorized
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


def register_user(*, username, email, password, rounds, role="user"):
    """Create a user; 409 when the username or email is taken."""
    email = email.strip().lower()
    taken = {}
    if User.objects(username=username).first():
        taken["username"] = ["This username is taken."]
    if User.objects(email=email).first():
        taken["email"] = ["This email is already registered."]
    if taken:
        raise Conflict("The username or email is already registered.", errors=taken)
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
    }


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
