"""Web Push endpoints: the VAPID public key, and the caller's push subscriptions."""

from flask.views import MethodView
from flask_jwt_extended import current_user

from app.channels.push import schemas, service, vapid
from app.errors import ErrorSchema
from app.security import Blueprint

blp = Blueprint("push", __name__, url_prefix="/api", description="Web Push")


@blp.record_once
def refuse_unusable_vapid_settings(state):
    """A VAPID key that cannot sign stops the app at start, not at every push."""
    vapid.check(state.app.config)


@blp.route("/push/vapid-public-key")
class VapidPublicKey(MethodView):
    @blp.response(200, schemas.VapidPublicKeySchema)
    @blp.alt_response(404, schema=ErrorSchema, description="Push is not configured")
    def get(self):
        """The applicationServerKey browsers subscribe with (public)"""
        return {"publicKey": service.public_key()}


@blp.route("/push-subscriptions")
class PushSubscriptions(MethodView):
    @blp.authenticated
    @blp.response(200, schemas.SubscriptionListSchema)
    def get(self):
        """The caller's push subscriptions (one per browser), oldest first"""
        return {"items": service.subscriptions_of(user_id=current_user.id)}

    @blp.authenticated
    @blp.arguments(schemas.SubscriptionCreateSchema)
    @blp.response(201, schemas.SubscriptionSchema)
    @blp.alt_response(200, schema=schemas.SubscriptionSchema, description="Updated")
    def post(self, body):
        """Push to this browser: store its `PushSubscription` (idempotent per endpoint)"""
        subscription, created = service.subscribe(user_id=current_user.id, **body)
        return subscription, 201 if created else 200


@blp.route("/push-subscriptions/<subscription_id>")
class PushSubscriptionById(MethodView):
    @blp.authenticated
    @blp.response(204)
    @blp.alt_response(404, schema=ErrorSchema, description="Not one of the caller's")
    def delete(self, subscription_id):
        """Stop pushing to one of the caller's browsers"""
        service.unsubscribe(user_id=current_user.id, subscription_id=subscription_id)
