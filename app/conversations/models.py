"""Stored messages, and one summary per conversation for the list of conversations."""

import mongoengine as me

from app.clock import now


def conversation_id(user_id, other_id):
    """The one id of the conversation between two users, whoever asks."""
    return ":".join(sorted((user_id, other_id)))


class Message(me.Document):
    """One message from `sender_id` to `recipient_id`. `_id` is a UUIDv7 made by the
    outbox's order, so messages and notifications share one publication order."""

    id = me.StringField(primary_key=True)
    conversation_id = me.StringField(required=True)
    sender_id = me.StringField(required=True)
    recipient_id = me.StringField(required=True)
    text = me.StringField(required=True, max_length=4000)
    created_at = me.DateTimeField(required=True, default=now)
    read_at = me.DateTimeField()  # when the recipient read it

    meta = {
        "collection": "messages",
        "indexes": [
            ("conversation_id", "-id"),
            ("recipient_id", "-id"),
            ("sender_id", "-id"),
        ],
    }


class Conversation(me.Document):
    """The two participants and the newest message, so conversations list by activity."""

    id = me.StringField(primary_key=True)  # conversation_id(a, b)
    participants = me.ListField(me.StringField(), required=True)
    last_message_id = me.StringField(required=True)

    meta = {"collection": "conversations", "indexes": [("participants", "-last_message_id")]}
