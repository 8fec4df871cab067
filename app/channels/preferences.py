"""Each user's choice of channels: per channel on/off, and per notification type per channel.

What is stored is only what the user chose; everything else comes from the
settings: a channel is on when CHANNEL_DEFAULTS names it, a type is on unless
turned off. Types outside NOTIFICATION_TYPES cannot be chosen one by one; they
follow their channel's switch. The socket (and the inbox behind it) is not a
channel here: it always carries every notification.
"""

import mongoengine as me

from app.clock import now
from app.errors import Unprocessable

# The channels a preference may name (push is built in its own package).
KNOWN_CHANNELS = ("email", "push")


class Preferences(me.Document):
    id = me.StringField(primary_key=True)  # the user's id
    channels = me.DictField()  # channel -> bool
    types = me.DictField()  # channel -> {type -> bool}
    updated_at = me.DateTimeField()

    meta = {"collection": "channel_preferences"}


def effective(user_id: str, config) -> dict:
    """Every known channel and type with its current on/off, as the API shows them."""
    stored = Preferences.objects(id=user_id).first()
    channels = stored.channels if stored else {}
    types = stored.types if stored else {}
    return {
        "channels": {
            name: channels.get(name, name in config["CHANNEL_DEFAULTS"]) for name in KNOWN_CHANNELS
        },
        "types": {
            name: {kind: types.get(name, {}).get(kind, True) for kind in _types(config)}
            for name in KNOWN_CHANNELS
        },
    }


def allows(user_id: str, channel: str, kind: str | None, config) -> bool:
    """Whether `user_id` gets notifications of type `kind` through `channel`."""
    stored = Preferences.objects(id=user_id).first()
    channels = stored.channels if stored else {}
    if not channels.get(channel, channel in config["CHANNEL_DEFAULTS"]):
        return False
    if kind is None or not stored:
        return True
    return stored.types.get(channel, {}).get(kind, True)


def update(user_id: str, changes: dict, config) -> dict:
    """Apply `changes` ({"channels": {...}, "types": {channel: {type: bool}}}), all or nothing."""
    errors = {}
    channels = changes.get("channels") or {}
    types = changes.get("types") or {}
    known_types = _types(config)
    for name in list(channels) + list(types):
        if name not in KNOWN_CHANNELS:
            errors.setdefault("channels", []).append(f"Unknown channel {name[:40]!r}.")
    for kinds in types.values():
        for kind in kinds:
            if kind not in known_types:
                errors.setdefault("types", []).append(f"Unknown notification type {kind[:64]!r}.")
    if errors:
        raise Unprocessable("Unknown channels or notification types.", errors=errors)
    fields = {f"set__channels__{name}": on for name, on in channels.items()}
    for name, kinds in types.items():
        fields.update({f"set__types__{name}__{kind}": on for kind, on in kinds.items()})
    Preferences.objects(id=user_id).update_one(upsert=True, set__updated_at=now(), **fields)
    return effective(user_id, config)


def unsubscribe(user_id: str, channel: str, kind: str | None, config) -> None:
    """Turn `channel` off for `kind` (a known type), or off altogether (any other type)."""
    if kind in _types(config):
        update(user_id, {"types": {channel: {kind: False}}}, config)
    else:
        update(user_id, {"channels": {channel: False}}, config)


def delete_preferences_of(_app, *, user_id: str) -> None:
    Preferences.objects(id=user_id).delete()


def _types(config):
    return [kind for kind in config["NOTIFICATION_TYPES"] if kind]
