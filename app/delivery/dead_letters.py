"""Messages that could not be handled: kept for admins to inspect and replay.

A dead letter is published to BROKER_DEAD_LETTER_TOPIC (for operators' own
tools) and recorded here, so the admin API can list and replay it whatever the
broker.

Each names the channel whose consumer gave up (`socket`, or one of
`app.channels`); a replay goes back to the topic with `herald-replay-for`
naming that channel, so only that channel's consumers take it again.
"""

import base64

import mongoengine as me

from app.brokers import OutgoingMessage
from app.clock import now
from app.delivery import events
from app.errors import Conflict, NotFound
from app.ids import is_uuid
from app.pagination import page_of

SOCKET = "socket"  # the channel of the per-instance consumer that feeds the sockets
REPLAY_FOR = "herald-replay-for"  # header: the channel a replayed message is for


class DeadLetter(me.Document):
    id = me.StringField(primary_key=True)
    topic = me.StringField(required=True)
    key = me.StringField()
    headers = me.DictField()
    payload = me.StringField(required=True)  # base64: the message may not even be text
    error = me.StringField(required=True)
    attempts = me.IntField(required=True)
    instance_id = me.StringField()
    channel = me.StringField()  # None in letters older than channels: the socket's
    created_at = me.DateTimeField(required=True, default=now)
    replayed_at = me.DateTimeField()

    meta = {"collection": "dead_letters", "indexes": ["-created_at"]}

    @property
    def value(self):
        return base64.b64decode(self.payload)


def record(message, *, error, attempts, instance_id, letter_id, channel=SOCKET):
    """Store a dead letter; saving the same `letter_id` again overwrites it."""
    return DeadLetter(
        id=letter_id,
        topic=message.topic,
        key=message.key,
        headers=dict(message.headers),
        payload=base64.b64encode(message.value).decode(),
        error=error[:2000],
        attempts=attempts,
        instance_id=instance_id,
        channel=channel,
    ).save()


def dead_letter_headers(message, *, error, attempts, channel=SOCKET):
    return {
        **message.headers,
        "herald-channel": channel,
        "herald-error": error[:500],
        "herald-attempts": str(attempts),
        "herald-original-topic": message.topic,
        "herald-failed-at": now().isoformat(),
    }


def _of_channel(letters, channel):
    if channel is None:
        return letters
    if channel == SOCKET:
        return letters.filter(channel__in=[SOCKET, None])
    return letters.filter(channel=channel)


def list_dead_letters(*, page, per_page, replayed=None, channel=None):
    """Dead letters (of `channel`, or all), newest first."""
    letters = _of_channel(DeadLetter.objects.order_by("-id"), channel)
    if replayed is not None:
        letters = letters.filter(replayed_at__exists=replayed)
    return page_of(letters, page=page, per_page=per_page)


def replay(*, broker, letter_id):
    """Publish a dead letter again to the topic it came from."""
    letter = DeadLetter.objects(id=letter_id).first() if is_uuid(letter_id) else None
    if letter is None:
        raise NotFound("No such dead letter.")
    try:
        events.decode(letter.value)
    except events.MalformedEvent:
        raise Conflict("This message is malformed; replaying it would only fail again.") from None
    broker.publish_many([_outgoing(letter)])
    letter.update(set__replayed_at=now())
    letter.reload()
    return letter


def replay_all(*, broker, channel=None):
    """Replay every well-formed dead letter (of `channel`) not replayed yet; returns how many."""
    letters = []
    pending = _of_channel(DeadLetter.objects(replayed_at__exists=False), channel)
    for letter in pending.order_by("id"):
        try:
            events.decode(letter.value)
        except events.MalformedEvent:
            continue
        letters.append(letter)
    if letters:
        broker.publish_many([_outgoing(letter) for letter in letters])
        DeadLetter.objects(id__in=[letter.id for letter in letters]).update(set__replayed_at=now())
    return len(letters)


def _outgoing(letter):
    headers = {**letter.headers, REPLAY_FOR: letter.channel or SOCKET}
    return OutgoingMessage(letter.topic, letter.value, key=letter.key, headers=headers)
