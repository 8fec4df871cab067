"""The channels' endpoints: a user's preferences, a notification's delivery log, and the
one-click unsubscribe page the emails link to (RFC 8058)."""

from flask import Blueprint as FlaskBlueprint
from flask import abort, current_app
from flask.views import MethodView
from flask_jwt_extended import current_user

from app.channels import deliveries, preferences, schemas
from app.channels.email import compose, unsubscribe
from app.errors import ErrorSchema
from app.security import Blueprint

blp = Blueprint("channels", __name__, url_prefix="/api", description="Channels and preferences")


@blp.route("/users/me/preferences")
class Preferences(MethodView):
    @blp.authenticated
    @blp.response(200, schemas.PreferencesSchema)
    def get(self):
        """The caller's channels and notification types, each on or off"""
        return preferences.effective(current_user.id, current_app.config)

    @blp.authenticated
    @blp.arguments(schemas.PreferencesSchema)
    @blp.response(200, schemas.PreferencesSchema)
    @blp.alt_response(422, schema=ErrorSchema, description="Unknown channel or type")
    def put(self, body):
        """Turn channels, or types per channel, on or off (what is not named stays)"""
        return preferences.update(current_user.id, body, current_app.config)


@blp.route("/notifications/<notification_id>/deliveries")
class Deliveries(MethodView):
    @blp.authenticated
    @blp.response(200, schemas.DeliveryListSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="Not the caller's notification")
    def get(self, notification_id):
        """How each channel delivered a notification (its recipient, or an admin)"""
        items = deliveries.log_of(
            notification_id, user_id=current_user.id, is_admin=current_user.is_admin
        )
        return {"items": items}


# The unsubscribe page is HTML and takes a form post (RFC 8058), so it is no /api route.
pages = FlaskBlueprint("unsubscribe", __name__)


def _link(token):
    fields = unsubscribe.read(current_app.config, token)
    if fields is None or fields.get("c") not in preferences.KNOWN_CHANNELS:
        abort(404)
    return fields


@pages.get("/unsubscribe/<token>")
def confirm_unsubscribe(token):
    """A page asking to confirm (a GET must change nothing: link scanners follow links)."""
    fields = _link(token)
    return compose.ENV.get_template("unsubscribe.html").render(done=False, kind=fields["t"])


@pages.post("/unsubscribe/<token>")
def one_click_unsubscribe(token):
    """The mail client's one-click POST, or the confirm page's button."""
    fields = _link(token)
    preferences.unsubscribe(fields["u"], fields["c"], fields["t"], current_app.config)
    return compose.ENV.get_template("unsubscribe.html").render(done=True, kind=fields["t"])
