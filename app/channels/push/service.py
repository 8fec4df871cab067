"""Web Push: the caller's subscriptions, and sending a notification to a user's devices.

`send_notification` is what the push channel's consumer calls for each notification.
It records each (notification, subscription) before the request goes out, so a retry
after a partial failure, or after the sender was killed, sends only to the
subscriptions that did not get it; a push service's 404/410 removes the subscription;
a 429, a 5xx or a network error raises `PushFailed`, for the consumer to retry later.
"""

import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import timedelta

import requests
from flask import current_app
from mongoengine.errors import NotUniqueError
from pywebpush import WebPushException, webpush

from app import presence
from app.channels.push import payload, vapid
from app.channels.push.models import PushSend, PushSubscription
from app.clock import now
from app.errors import NotFound, Unprocessable
from app.notifications.models import Notification

logger = logging.getLogger(__name__)

GONE_STATUSES = (404, 410)  # the push service forgot the subscription: never again
URGENCIES = ("very-low", "low", "normal", "high")
# Records older than PUSH_SENDS_RETENTION are deleted by the first send after this many
# seconds (FerretDB has no TTL indexes, and a purge per send would scan the collection).
PURGE_INTERVAL = 60.0
_purged_at = None  # monotonic time of this process's last purge


def public_key() -> str:
    """The applicationServerKey, or a 404 while push is not configured."""
    private_key = current_app.config["VAPID_PRIVATE_KEY"]
    if not private_key:
        raise NotFound("Web Push is not configured on this server (no VAPID key).")
    return vapid.public_key(private_key)


def subscribe(*, user_id, endpoint, keys, expiration_time=None):
    """Store a browser's subscription for `user_id`: (subscription, created).

    Idempotent per endpoint: posting it again updates its keys, and an endpoint that
    was another user's (someone else signed in on that browser) becomes this user's.
    """
    fields = {
        "set__user_id": user_id,
        "set__p256dh": keys["p256dh"],
        "set__auth": keys["auth"],
        "set__expiration_time": expiration_time,
        "set__updated_at": now(),
    }
    if PushSubscription.objects(endpoint=endpoint).update_one(**fields):
        return PushSubscription.objects.get(endpoint=endpoint), False
    limit = current_app.config["PUSH_MAX_SUBSCRIPTIONS"]
    if PushSubscription.objects(user_id=user_id).count() >= limit:
        raise Unprocessable(
            f"At most {limit} devices may receive pushes; turn one off first.",
            errors={"endpoint": [f"You have {limit} push subscriptions already."]},
        )
    subscription = PushSubscription(
        user_id=user_id,
        endpoint=endpoint,
        p256dh=keys["p256dh"],
        auth=keys["auth"],
        expiration_time=expiration_time,
    )
    try:
        subscription.save(force_insert=True)
    except NotUniqueError:  # the same endpoint posted twice at once
        PushSubscription.objects(endpoint=endpoint).update_one(**fields)
        return PushSubscription.objects.get(endpoint=endpoint), False
    return subscription, True


def subscriptions_of(*, user_id):
    return list(PushSubscription.objects(user_id=user_id).order_by("created_at"))


def unsubscribe(*, user_id, subscription_id):
    """Delete one of the caller's subscriptions; another user's is a 404."""
    if not PushSubscription.objects(id=subscription_id, user_id=user_id).delete():
        raise NotFound("No such push subscription.")


def delete_subscriptions_of(_app, *, user_id):
    """`signals.user_deleted`: the user's subscriptions and the record of their pushes."""
    PushSubscription.objects(user_id=user_id).delete()
    PushSend.objects(user_id=user_id).delete()


@dataclass
class PushOutcome:
    """What one `send_notification` did, for the delivery log."""

    sent: int = 0
    already_sent: int = 0  # sent (or being sent) by an earlier attempt
    gone: int = 0  # subscriptions the push service no longer knows: deleted
    failed: int = 0
    skipped: str | None = None  # why nothing was attempted

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class PushFailed(Exception):
    """Some pushes failed in a way a later attempt may fix (429, 5xx, network)."""

    outcome: PushOutcome
    errors: list[str] = field(default_factory=list)
    retry_after: str | None = None

    def __str__(self) -> str:
        return f"{self.outcome.failed} push(es) failed: {'; '.join(self.errors)}"


def urgency_for(notification: dict, config) -> str:
    urgency = config["PUSH_URGENCY_BY_TYPE"].get(notification.get("type") or "")
    return urgency if urgency in URGENCIES else config["PUSH_URGENCY"]


def send_notification(notification: dict, user_id: str, *, config=None) -> PushOutcome:
    """Push `notification` (as REST shows it) to each of `user_id`'s subscriptions.

    `config` is the app's settings, by default the current app's (the push channel,
    which runs outside any request, passes its own).
    """
    config = config if config is not None else current_app.config
    if not config["VAPID_PRIVATE_KEY"]:
        return PushOutcome(skipped="push is not configured (no VAPID_PRIVATE_KEY)")
    if config["PUSH_ONLY_WHEN_OFFLINE"] and presence.is_online(user_id):
        return PushOutcome(skipped="online: the socket delivered it")
    subscriptions = subscriptions_of(user_id=user_id)
    if not subscriptions:
        return PushOutcome(skipped="no push subscription")
    stored = Notification.objects(id=notification["id"]).only("read").first()
    if stored is None:  # retracted or deleted before its push went out (a retry, say)
        return PushOutcome(skipped="the notification was deleted")
    if stored.read:
        return PushOutcome(skipped="read already")
    _purge_old_sends(config["PUSH_SENDS_RETENTION"])
    outcome, errors, retry_after = PushOutcome(), [], None
    body = payload.build(notification)
    with requests.Session() as session:
        for subscription in subscriptions:
            key = PushSend.key(notification["id"], subscription.id)
            if not _claim(key, notification["id"], subscription):
                outcome.already_sent += 1
                continue
            error = _push(session, subscription, key, body, notification, config)
            if error is None:
                outcome.sent += 1
            elif error == "gone":
                outcome.gone += 1
            else:
                outcome.failed += 1
                errors.append(error.message)
                retry_after = error.retry_after or retry_after
    if errors:
        raise PushFailed(outcome, errors, retry_after)
    return outcome


def _purge_old_sends(retention):
    global _purged_at
    if _purged_at is not None and time.monotonic() - _purged_at < PURGE_INTERVAL:
        return
    _purged_at = time.monotonic()
    PushSend.objects(created_at__lt=now() - timedelta(seconds=retention)).delete()


def _claim(key, notification_id, subscription) -> bool:
    """True when this attempt may push to the subscription: never tried, or failed before."""
    try:
        PushSend(
            id=key,
            notification_id=notification_id,
            subscription_id=subscription.id,
            user_id=subscription.user_id,
            status=PushSend.SENDING,
        ).save(force_insert=True)
        return True
    except NotUniqueError:
        claimed = PushSend.objects(id=key, status=PushSend.FAILED).update_one(
            set__status=PushSend.SENDING, inc__attempts=1, set__updated_at=now()
        )
        return bool(claimed)


@dataclass
class _Failure:
    message: str
    retry_after: str | None = None


def _push(session, subscription, key, body, notification, config):
    """Send one push: None when the push service took it, "gone", or a `_Failure`."""
    if subscription.expiration_time and subscription.expiration_time < time.time() * 1000:
        return _gone(subscription, key, "expired")
    try:
        webpush(
            subscription.as_webpush_info(),
            data=body,
            vapid_private_key=vapid.load(config["VAPID_PRIVATE_KEY"]),
            vapid_claims={"sub": config["VAPID_SUBJECT"]},
            content_encoding="aes128gcm",
            ttl=config["PUSH_TTL"],
            headers={"Urgency": urgency_for(notification, config)},
            timeout=config["PUSH_TIMEOUT"],
            requests_session=session,
        )
    except WebPushException as error:
        status = error.status_code
        if status in GONE_STATUSES:
            return _gone(subscription, key, f"push service answered {status}")
        failure = _Failure(f"push service answered {status or error.message}", error.retry_after)
    except requests.RequestException as error:
        failure = _Failure(f"push service unreachable: {type(error).__name__}")
    else:
        _record(key, PushSend.SENT)
        return None
    logger.warning("Push to subscription %s failed: %s", subscription.id, failure.message)
    _record(key, PushSend.FAILED, failure.message)
    return failure


def _gone(subscription, key, why):
    logger.info("Push subscription %s removed: %s", subscription.id, why)
    subscription.delete()
    _record(key, PushSend.GONE, why)
    return "gone"


def _record(key, status, error=None):
    PushSend.objects(id=key).update_one(set__status=status, set__error=error, set__updated_at=now())
