"""Liveness and readiness probes for load balancers and orchestrators."""

import marshmallow as ma
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from app import database
from app.brokers import redacted
from app.errors import ErrorSchema, ServiceUnavailable
from app.realtime import runtime_of

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
        """The database and the broker answer, and the consumer is subscribed"""
        realtime = runtime_of(current_app)
        checks = {"database": "ok" if database.ping() else "unreachable"}
        try:
            realtime.broker.check()
            checks["broker"] = "ok"
        except realtime.broker.connection_errors as error:
            checks["broker"] = f"unreachable at {redacted(realtime.broker.url)}: {error}"
        if realtime.consume:
            checks["consumer"] = "ok" if realtime.consumer.subscribed.is_set() else "not subscribed"
        if any(value != "ok" for value in checks.values()):
            raise ServiceUnavailable("Not ready.", errors=checks)
        return {"status": "ok", "checks": checks}
