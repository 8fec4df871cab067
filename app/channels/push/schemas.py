"""Request and response bodies of the Web Push API: a browser's `PushSubscription`."""

import base64
import binascii
import ipaddress
import re
from urllib.parse import urlsplit

import marshmallow as ma
from cryptography.hazmat.primitives.asymmetric import ec
from flask import current_app
from marshmallow import validate

_BASE64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")
ENDPOINT_MAX_LENGTH = 2048  # FCM's are about 200 characters, Mozilla's about 250


def decode_base64url(value: str) -> bytes:
    """The bytes of a base64url string (padding optional); ValidationError otherwise."""
    if not _BASE64URL.fullmatch(value):
        raise ma.ValidationError("Must be base64url (A-Z, a-z, 0-9, '-', '_').")
    try:
        return base64.urlsafe_b64decode(value.rstrip("=") + "=" * (-len(value.rstrip("=")) % 4))
    except (binascii.Error, ValueError):
        raise ma.ValidationError("Must be base64url.") from None


def p256_point(value):
    """The browser's ECDH key: an uncompressed point (65 bytes) on P-256."""
    raw = decode_base64url(value)
    if len(raw) != 65 or raw[0] != 4:
        raise ma.ValidationError("Must be an uncompressed P-256 point (65 bytes, 0x04 first).")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError:
        raise ma.ValidationError("Is not a point on the P-256 curve.") from None


def auth_secret(value):
    if len(decode_base64url(value)) != 16:
        raise ma.ValidationError("Must be 16 bytes.")


def push_endpoint(value):
    """An https URL of a push service (or http://127.0.0.1 where the settings allow it)."""
    refused = ma.ValidationError("Must be an https URL of a push service.")
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:  # an unclosed "[", a port that is no number
        raise refused from None
    address = _ip_address(host)
    if parts.scheme == "https" and host and (address is None or address.is_global):
        return  # push services have public names; an internal address is no push service
    loopback_allowed = current_app.config["PUSH_ALLOW_LOOPBACK_HTTP"]
    if parts.scheme == "http" and loopback_allowed and address and address.is_loopback:
        return
    raise refused


def _ip_address(host):
    try:
        return ipaddress.ip_address(host) if host else None
    except ValueError:
        return None  # a name


class SubscriptionKeysSchema(ma.Schema):
    p256dh = ma.fields.String(required=True, validate=p256_point)
    auth = ma.fields.String(required=True, validate=auth_secret)


class SubscriptionCreateSchema(ma.Schema):
    """What `PushSubscription.toJSON()` gives in the browser."""

    endpoint = ma.fields.String(
        required=True, validate=[validate.Length(max=ENDPOINT_MAX_LENGTH), push_endpoint]
    )
    keys = ma.fields.Nested(SubscriptionKeysSchema, required=True)
    expirationTime = ma.fields.Integer(
        attribute="expiration_time",
        allow_none=True,
        load_default=None,
        strict=True,
        validate=validate.Range(min=0, max=2**53),
        metadata={"description": "When the browser lets it expire, ms since the epoch"},
    )


class SubscriptionSchema(ma.Schema):
    """A stored subscription, as its owner sees it (the keys stay on the server)."""

    id = ma.fields.String(required=True)
    endpoint = ma.fields.String(required=True)
    expirationTime = ma.fields.Integer(attribute="expiration_time", allow_none=True)
    createdAt = ma.fields.DateTime(attribute="created_at", required=True)
    updatedAt = ma.fields.DateTime(attribute="updated_at", required=True)


class SubscriptionListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(SubscriptionSchema), required=True)


class VapidPublicKeySchema(ma.Schema):
    publicKey = ma.fields.String(
        required=True,
        metadata={"description": "applicationServerKey for pushManager.subscribe, base64url"},
    )
