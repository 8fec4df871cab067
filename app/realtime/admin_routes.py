"""Admin endpoints for dead letters: list them, replay one or all."""

import marshmallow as ma
from flask import current_app
from flask.views import MethodView
from flask_jwt_extended import jwt_required
from flask_smorest import Blueprint

from app.errors import ErrorSchema
from app.pagination import PageArgsSchema, PageMetaSchema
from app.realtime import dead_letters, runtime_of
from app.security import admin_required

blp = Blueprint(
    "dead_letters",
    __name__,
    url_prefix="/api/admin/dead-letters",
    description="Messages that could not be delivered (admins only)",
)
BEARER = [{"bearerAuth": []}]


class DeadLetterSchema(ma.Schema):
    id = ma.fields.String(required=True)
    topic = ma.fields.String(required=True)
    key = ma.fields.String(allow_none=True)
    headers = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())
    payload = ma.fields.String(
        required=True, metadata={"description": "The message as received, base64"}
    )
    error = ma.fields.String(required=True)
    attempts = ma.fields.Integer(required=True)
    instanceId = ma.fields.String(attribute="instance_id", allow_none=True)
    createdAt = ma.fields.DateTime(attribute="created_at", required=True)
    replayedAt = ma.fields.DateTime(attribute="replayed_at", allow_none=True)


class DeadLetterPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(DeadLetterSchema), required=True)
    meta = ma.fields.Nested(PageMetaSchema, required=True)


class DeadLetterQuerySchema(PageArgsSchema):
    replayed = ma.fields.Boolean(metadata={"description": "Only replayed (true) or pending"})


class ReplayCountSchema(ma.Schema):
    count = ma.fields.Integer(required=True, metadata={"description": "Messages replayed"})


def _broker():
    return runtime_of(current_app).broker


@blp.route("")
class DeadLetters(MethodView):
    @jwt_required()
    @admin_required
    @blp.arguments(DeadLetterQuerySchema, location="query")
    @blp.response(200, DeadLetterPageSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="Admins only")
    @blp.doc(security=BEARER)
    def get(self, query):
        """Dead letters, newest first"""
        items, meta = dead_letters.list_dead_letters(**query)
        return {"items": items, "meta": meta}


@blp.route("/replay")
class ReplayAll(MethodView):
    @jwt_required()
    @admin_required
    @blp.response(200, ReplayCountSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="Admins only")
    @blp.alt_response(503, schema=ErrorSchema, description="Broker unavailable")
    @blp.doc(security=BEARER)
    def post(self):
        """Replay every dead letter not replayed yet"""
        return {"count": dead_letters.replay_all(broker=_broker())}


@blp.route("/<letter_id>/replay")
class ReplayOne(MethodView):
    @jwt_required()
    @admin_required
    @blp.response(200, DeadLetterSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="Admins only")
    @blp.alt_response(404, schema=ErrorSchema, description="No such dead letter")
    @blp.alt_response(409, schema=ErrorSchema, description="Malformed; cannot be replayed")
    @blp.alt_response(503, schema=ErrorSchema, description="Broker unavailable")
    @blp.doc(security=BEARER)
    def post(self, letter_id):
        """Publish one dead letter again"""
        return dead_letters.replay(broker=_broker(), letter_id=letter_id)
