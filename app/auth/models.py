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
    created_at = me.DateTimeField(required=True, default=utcnow)

    meta = {"collection": "users", "indexes": ["created_at"]}

    @property
    def is_admin(self):
        return self.role == "admin"
