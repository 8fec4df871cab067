"""Stored posts."""

import mongoengine as me

from app.clock import now
from app.ids import new_id


class Post(me.Document):
    id = me.StringField(primary_key=True, default=new_id)  # a UUIDv7: newest sorts last
    author_id = me.StringField(required=True)
    text = me.StringField(required=True, max_length=500)
    created_at = me.DateTimeField(required=True, default=now)
    fanout_id = me.StringField()  # the job telling the author's followers

    meta = {"collection": "posts", "indexes": [("author_id", "-id")]}
