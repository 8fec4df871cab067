"""Channels in GraphQL: the caller's preferences, a notification's delivery log, and the
caller's Web Push devices. Over `app.channels.preferences`, `app.channels.deliveries`
and `app.channels.push.service`, as `app.channels.routes` and the push routes are."""

from datetime import datetime

import strawberry
from flask import current_app
from strawberry.scalars import JSON

from app.channels import deliveries, preferences
from app.channels import schemas as channel_schemas
from app.channels.push import schemas as push_schemas
from app.channels.push import service as push
from app.graphql.context import load, viewer


@strawberry.type(description="Channels on or off, and notification types on or off per channel")
class Preferences:
    channels: JSON
    types: JSON


@strawberry.type(description="How one channel delivered a notification")
class Delivery:
    channel: str
    status: str
    reason: str | None
    error: str | None
    attempts: int
    due_at: datetime | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None


@strawberry.type(description="A browser that receives pushes")
class PushSubscription:
    id: strawberry.ID
    endpoint: str
    created_at: datetime


def _delivery(record) -> Delivery:
    return Delivery(
        channel=record.channel,
        status=record.shown_status,
        reason=record.reason,
        error=record.error,
        attempts=record.attempts,
        due_at=record.due_at,
        created_at=record.created_at,
        updated_at=record.updated_at,
        sent_at=record.sent_at,
    )


def _device(subscription) -> PushSubscription:
    return PushSubscription(
        id=subscription.id, endpoint=subscription.endpoint, created_at=subscription.created_at
    )


@strawberry.type
class ChannelQueries:
    @strawberry.field(description="The caller's channels and notification types, each on or off")
    def preferences(self, info: strawberry.Info) -> Preferences:
        return Preferences(**preferences.effective(viewer(info).id, current_app.config))

    @strawberry.field(description="How each channel delivered a notification (recipient or admin)")
    def deliveries(self, info: strawberry.Info, notification_id: strawberry.ID) -> list[Delivery]:
        user = viewer(info)
        records = deliveries.log_of(notification_id, user_id=user.id, is_admin=user.is_admin)
        return [_delivery(record) for record in records]

    @strawberry.field(description="The caller's push subscriptions (browsers)")
    def push_subscriptions(self, info: strawberry.Info) -> list[PushSubscription]:
        return [_device(s) for s in push.subscriptions_of(user_id=viewer(info).id)]


@strawberry.type
class ChannelMutations:
    @strawberry.mutation(
        description="Turn channels, or types per channel, on or off (what is not named stays)"
    )
    def update_preferences(
        self, info: strawberry.Info, channels: JSON | None = None, types: JSON | None = None
    ) -> Preferences:
        body = load(channel_schemas.PreferencesSchema, {"channels": channels, "types": types})
        return Preferences(**preferences.update(viewer(info).id, body, current_app.config))

    @strawberry.mutation(
        description="Push to a browser: store its PushSubscription (idempotent per endpoint)"
    )
    def subscribe_push(
        self,
        info: strawberry.Info,
        endpoint: str,
        p256dh: str,
        auth: str,
        expiration_time: float | None = None,
    ) -> PushSubscription:
        body = load(
            push_schemas.SubscriptionCreateSchema,
            {
                "endpoint": endpoint,
                "keys": {"p256dh": p256dh, "auth": auth},
                "expirationTime": None if expiration_time is None else int(expiration_time),
            },
        )
        subscription, _created = push.subscribe(user_id=viewer(info).id, **body)
        return _device(subscription)

    @strawberry.mutation(description="Stop pushing to one of the caller's browsers")
    def delete_push_subscription(self, info: strawberry.Info, id: strawberry.ID) -> bool:
        push.unsubscribe(user_id=viewer(info).id, subscription_id=id)
        return True
