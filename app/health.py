"""Liveness and readiness probes for load balancers and orchestrators.

Ready means: the database and the broker answer, the consumer is subscribed,
and this instance is not far behind (its consumer's lag, its oldest
unpublished notification: READY_MAX_CONSUMER_LAG, READY_MAX_OUTBOX_AGE). A 503
names each failing check and why, so an operator reading a load balancer's
probe log knows which.
"""

import marshmallow as ma
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from app import database
from app.brokers import redacted
from app.delivery.backlog import consumer_lag, outbox_backlog
from app.errors import ErrorSchema, ServiceUnavailable
from app.extensions import current_node

blp = Blueprint("health", __name__, description="Probes")


class HealthSchema(ma.Schema):
    status = ma.fields.String(required=True)
    checks = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())


@blp.route("/healthz")
class Health(MethodView):
    @blp.response(200, HealthSchema)
    def get(self):
        """The process is up"""
        return {"status": "ok"}


@blp.route("/readyz")
class Ready(MethodView):
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, schema=ErrorSchema, description="A dependency is down")
    def get(self):
        """The database and the broker answer, the consumer is subscribed and not far behind"""
        node, config = current_node(), current_app.config
        checks = {"database": "ok" if database.ping() else "unreachable"}
        try:
            node.broker.check()
            checks["broker"] = "ok"
        except node.broker.connection_errors as error:
            checks["broker"] = f"unreachable at {redacted(node.broker.url)}: {error}"
        if node.consumes:
            checks["consumer"] = "ok" if node.ready_to_deliver() else "not subscribed"
        if checks["database"] == "ok":
            checks["outbox"] = _outbox_check(node, config["READY_MAX_OUTBOX_AGE"])
        if node.consumes and checks["broker"] == "ok":
            checks["consumer_lag"] = _lag_check(node, config["READY_MAX_CONSUMER_LAG"])
        if any(value != "ok" for value in checks.values()):
            raise ServiceUnavailable("Not ready.", errors=checks)
        return {"status": "ok", "checks": checks}


def _outbox_check(node, max_age):
    """Whether this instance's oldest unpublished notification waited over `max_age` s."""
    if not max_age:
        return "ok"
    try:
        count, age = outbox_backlog(node.relay.topic, publisher=node.instance_id)
    except database.DATABASE_ERRORS as error:
        return f"unreadable: {error}"
    if age > max_age:
        return (
            f"{count} notification(s) waiting to be published, the oldest for {age:.0f}s "
            f"(READY_MAX_OUTBOX_AGE is {max_age:g}s)"
        )
    return "ok"


def _lag_check(node, max_lag):
    """Whether this instance's consumer is over `max_lag` messages behind the broker."""
    if not max_lag:
        return "ok"
    group = node.consumer.group
    try:
        lag = sum(
            consumer_lag(node.broker, node.consumer.topic, {group: group}).get(group, {}).values()
        )
    except node.broker.connection_errors as error:
        return f"unreadable: {error}"
    if lag > max_lag:
        return f"{lag} message(s) behind the broker (READY_MAX_CONSUMER_LAG is {max_lag})"
    return "ok"
