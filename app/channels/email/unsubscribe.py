"""Signed one-click unsubscribe links (RFC 8058): whose, which channel, which type.

Signed with itsdangerous under JWT_SECRET_KEY (shared by every worker; a salt
of its own keeps these apart from anything else signed with it). A link does
not expire: a mail client may POST it months later.
"""

from itsdangerous import BadSignature, URLSafeSerializer

SALT = "herald-unsubscribe"


def _serializer(config):
    return URLSafeSerializer(config["JWT_SECRET_KEY"], salt=SALT)


def token(config, *, user_id: str, channel: str, kind: str | None) -> str:
    return _serializer(config).dumps({"u": user_id, "c": channel, "t": kind})


def url(config, **fields) -> str:
    return f"{config['PUBLIC_URL']}/unsubscribe/{token(config, **fields)}"


def read(config, value: str) -> dict | None:
    """{"u", "c", "t"} from a token, or None when it was not signed by us."""
    try:
        fields = _serializer(config).loads(value)
    except BadSignature:
        return None
    if not isinstance(fields, dict) or not isinstance(fields.get("u"), str):
        return None
    return fields
