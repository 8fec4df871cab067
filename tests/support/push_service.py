"""A push service of the tests' own, like FCM or Mozilla's autopush, on 127.0.0.1.

A real threaded HTTP server. `subscribe()` plays the browser: it makes the
subscription's key pair and auth secret, binds the subscription to the server's
applicationServerKey (as `pushManager.subscribe` does) and returns the
`PushSubscription` JSON to post to Herald. Each push is checked the way push
services do: the VAPID `Authorization: vapid t=<jwt>, k=<key>` header (RFC 8292:
ES256 signed by `k`, `k` the key the subscription was made with, `aud` the
endpoint's origin, `exp` within 24 hours, a `sub`), a `TTL` header, `Content-Encoding:
aes128gcm`; then the body is decrypted (RFC 8291) with the subscription's private key
and auth secret, and kept for the test to read. `answer(endpoint, status)` makes the
service answer an endpoint with, say, 410 or 500 instead.
"""

import base64
import json
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import http_ece
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

URGENCIES = ("very-low", "low", "normal", "high")
MAX_BODY = 4096  # RFC 8030: what every push service must take


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_point(private_key) -> bytes:
    return private_key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


@dataclass
class Push:
    """One push the service accepted: the decrypted payload and the headers it came with."""

    payload: dict
    ttl: int
    urgency: str | None
    claims: dict


@dataclass
class Subscription:
    token: str
    private_key: ec.EllipticCurvePrivateKey  # the browser's: only it can decrypt
    auth: bytes
    server_key: str  # the applicationServerKey it was made with (base64url)
    received: list = field(default_factory=list)
    answer: int | None = None  # a status to answer instead of accepting


class Refused(Exception):
    def __init__(self, status, reason):
        super().__init__(reason)
        self.status, self.reason = status, reason


class PushService:
    """The push service; `url` is its origin. Use as a context manager or `stop()` it."""

    def __init__(self):
        self.subscriptions: dict[str, Subscription] = {}
        self.refusals: list[tuple[int, str]] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def subscribe(self, application_server_key: str) -> dict:
        """A new subscription, as the browser's `PushSubscription.toJSON()` gives it."""
        private_key = ec.generate_private_key(ec.SECP256R1())
        subscription = Subscription(
            uuid.uuid4().hex, private_key, os.urandom(16), application_server_key
        )
        with self.lock:
            self.subscriptions[subscription.token] = subscription
        return {
            "endpoint": self.endpoint_of(subscription),
            "expirationTime": None,
            "keys": {
                "p256dh": b64url(public_point(private_key)),
                "auth": b64url(subscription.auth),
            },
        }

    def endpoint_of(self, subscription):
        return f"{self.url}/push/{subscription.token}"

    def _get(self, endpoint) -> Subscription:
        return self.subscriptions[endpoint.rsplit("/", 1)[-1]]

    def answer(self, endpoint: str, status: int | None):
        """Answer pushes to `endpoint` with `status` (None: accept them again)."""
        self._get(endpoint).answer = status

    def forget(self, endpoint: str):
        """The browser unsubscribed: pushes to it get 410 Gone from now on."""
        self.answer(endpoint, 410)

    def received(self, endpoint: str) -> list[Push]:
        with self.lock:
            return list(self._get(endpoint).received)

    def _handler(self):
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                try:
                    status = service._accept(self.path, self.headers, body)
                except Refused as refusal:
                    with service.lock:
                        service.refusals.append((refusal.status, refusal.reason))
                    status = refusal.status
                self.send_response(status)
                if status == 201:
                    self.send_header("Location", f"{service.url}/message/{uuid.uuid4().hex}")
                if status == 429:
                    self.send_header("Retry-After", "1")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        return Handler

    def _accept(self, path, headers, body) -> int:
        token = path.removeprefix("/push/")
        with self.lock:
            subscription = self.subscriptions.get(token)
        if subscription is None:
            raise Refused(404, "no such subscription")
        claims = self._check_vapid(headers.get("Authorization", ""), subscription)
        ttl = headers.get("TTL")
        if ttl is None or not ttl.isdigit():
            raise Refused(400, "TTL header missing")
        urgency = headers.get("Urgency")
        if urgency is not None and urgency not in URGENCIES:
            raise Refused(400, f"bad Urgency {urgency!r}")
        if headers.get("Content-Encoding") != "aes128gcm":
            raise Refused(415, "Content-Encoding must be aes128gcm")
        if len(body) > MAX_BODY:
            raise Refused(413, f"body of {len(body)} bytes")
        if subscription.answer is not None:
            return subscription.answer
        try:
            plain = http_ece.decrypt(
                body,
                private_key=subscription.private_key,
                auth_secret=subscription.auth,
                version="aes128gcm",
            )
        except Exception as error:
            raise Refused(400, f"cannot decrypt: {error}") from None
        push = Push(json.loads(plain), int(ttl), urgency, claims)
        with self.lock:
            subscription.received.append(push)
        return 201

    def _check_vapid(self, authorization, subscription) -> dict:
        scheme, _, params = authorization.partition(" ")
        if scheme.lower() != "vapid":
            raise Refused(401, "no vapid Authorization")
        parts = dict(p.strip().split("=", 1) for p in params.split(",") if "=" in p)
        token, key = parts.get("t"), parts.get("k")
        if not token or not key:
            raise Refused(401, "vapid t= or k= missing")
        if key != subscription.server_key:
            raise Refused(403, "k is not the key the subscription was made with")
        try:
            public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(key))
            claims = jwt.decode(
                token,
                public_key,
                algorithms=["ES256"],
                audience=self.url,
                options={"require": ["exp", "aud", "sub"]},
            )
        except (ValueError, jwt.PyJWTError) as error:
            raise Refused(401, f"bad vapid JWT: {error}") from None
        if claims["exp"] > time.time() + 24 * 3600:
            raise Refused(401, "exp more than 24 hours ahead")
        if not str(claims["sub"]).startswith(("mailto:", "https:")):
            raise Refused(401, "sub is neither mailto: nor https:")
        return claims


def origin_of(endpoint):
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}"
