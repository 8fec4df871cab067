"""Stored users."""

import mongoengine as me

from app.clock import now as utcnow
from app.ids import new_id

ROLES = ("user", "admin")


class User(me.Document):
    """A person or service that receives notifications."""

    id = me.StringField(primary_key=True, default=new_id)
    username = me.StringField(required=True, unique=True, max_length=32)
    email = me.StringField(required=True, unique=True, max_length=254)
    password_hash = me.StringField(required=True)
    role = me.StringField(required=True, choices=ROLES, default="user")
    # Every token carries the version it was issued under; raising it (a password
    # change, "log out everywhere") revokes all of the user's tokens at once.
    token_version = me.IntField(required=True, default=0)
    created_at = me.DateTimeField(required=True, default=utcnow)
    display_name = me.StringField(max_length=64)
    bio = me.StringField(max_length=500)
    # The ETag of the user's `Picture`, or None without one: user views build the
    # picture's URL from it without reading the picture itself.
    picture_etag = me.StringField()

    meta = {"collection": "users", "indexes": ["created_at"]}

    @property
    def is_admin(self):
        return self.role == "admin"

    @classmethod
    def by_id(cls, user_id):
        """The user with `user_id`, or None, by one exact `_id` lookup.

        Asked on every authenticated request and handshake: plain pymongo plus
        `_from_son` costs a fraction of a queryset's `.first()` (which clones the
        queryset, compiles the query and opens a cursor for one document).
        """
        doc = cls._get_collection().find_one({"_id": user_id})
        return None if doc is None else cls._from_son(doc)

    @classmethod
    def exists(cls, user_id):
        """True when a user has `user_id`; one exact `_id` lookup, no document built."""
        return cls._get_collection().find_one({"_id": user_id}, {"_id": 1}) is not None


class RevokedToken(me.Document):
    """One revoked token (by its `jti`), kept until it would have expired anyway."""

    id = me.StringField(primary_key=True)  # the token's jti
    user_id = me.StringField(required=True)
    expires_at = me.DateTimeField(required=True)
    # "spent" for a refresh token exchanged for a new pair, "logout" otherwise.
    reason = me.StringField(required=True, choices=("spent", "logout"), default="logout")

    meta = {"collection": "revoked_tokens", "indexes": ["expires_at"]}

    @classmethod
    def reason_for(cls, jti):
        """Why the token `jti` was revoked, or None when it was not; asked on every
        authenticated request, so one `_id` lookup in pymongo (see `User.by_id`)."""
        doc = cls._get_collection().find_one({"_id": jti}, {"reason": 1})
        return None if doc is None else doc["reason"]


class Picture(me.Document):
    """A user's profile picture, as Herald re-encoded it (`app.auth.pictures`)."""

    id = me.StringField(primary_key=True)  # the user's id: one picture each
    data = me.BinaryField(required=True)
    content_type = me.StringField(required=True)
    etag = me.StringField(required=True)  # a hash of `data`
    width = me.IntField(required=True)
    height = me.IntField(required=True)
    updated_at = me.DateTimeField(required=True, default=utcnow)

    meta = {"collection": "pictures"}
