"""Liveness and readiness probes for load balancers and orchestrators."""

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from app import database
from app.brokers import redacted
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
        """The database and the broker answer, and the consumer is subscribed"""
        node = current_node()
        checks = {"database": "ok" if database.ping() else "unreachable"}
        try:
            node.broker.check()
            checks["broker"] = "ok"
        except node.broker.connection_errors as error:
            checks["broker"] = f"unreachable at {redacted(node.broker.url)}: {error}"
        if node.consumes:
            checks["consumer"] = "ok" if node.ready_to_deliver() else "not subscribed"
        if any(value != "ok" for value in checks.values()):
            raise ServiceUnavailable("Not ready.", errors=checks)
        return {"status": "ok", "checks": checks}
