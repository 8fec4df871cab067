"""Admin endpoints for dead letters: list them, replay one or all."""

import marshmallow as ma
from flask.views import MethodView

from app.delivery import dead_letters
from app.errors import ErrorSchema
from app.extensions import current_node
from app.pagination import PageArgsSchema, page_schema
from app.security import Blueprint

blp = Blueprint(
    "dead_letters",
    __name__,
    url_prefix="/api/admin/dead-letters",
    description="Messages that could not be delivered (admins only)",
)


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
    channel = ma.fields.Function(
        lambda letter: letter.channel or dead_letters.SOCKET,
        metadata={"description": "The channel whose consumer gave up: socket, email..."},
    )
    createdAt = ma.fields.DateTime(attribute="created_at", required=True)
    replayedAt = ma.fields.DateTime(attribute="replayed_at", allow_none=True)


DeadLetterPageSchema = page_schema(DeadLetterSchema)


class ChannelQuerySchema(ma.Schema):
    channel = ma.fields.String(
        validate=ma.validate.Length(min=1, max=32), metadata={"description": "Only this channel's"}
    )


class DeadLetterQuerySchema(PageArgsSchema, ChannelQuerySchema):
    replayed = ma.fields.Boolean(metadata={"description": "Only replayed (true) or pending"})


class ReplayCountSchema(ma.Schema):
    count = ma.fields.Integer(required=True, metadata={"description": "Messages replayed"})


def _broker():
    return current_node().broker


@blp.route("")
class DeadLetters(MethodView):
    @blp.admin_only
    @blp.arguments(DeadLetterQuerySchema, location="query")
    @blp.response(200, DeadLetterPageSchema)
    def get(self, query):
        """Dead letters, newest first"""
        items, meta = dead_letters.list_dead_letters(**query)
        return {"items": items, "meta": meta}


@blp.route("/replay")
class ReplayAll(MethodView):
    @blp.admin_only
    @blp.arguments(ChannelQuerySchema, location="query")
    @blp.response(200, ReplayCountSchema)
    @blp.alt_response(503, schema=ErrorSchema, description="Broker unavailable")
    def post(self, query):
        """Replay every dead letter (of one channel) not replayed yet"""
        return {"count": dead_letters.replay_all(broker=_broker(), **query)}


@blp.route("/<letter_id>/replay")
class ReplayOne(MethodView):
    @blp.admin_only
    @blp.response(200, DeadLetterSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such dead letter")
    @blp.alt_response(409, schema=ErrorSchema, description="Malformed; cannot be replayed")
    @blp.alt_response(503, schema=ErrorSchema, description="Broker unavailable")
    def post(self, letter_id):
        """Publish one dead letter again"""
        return dead_letters.replay(broker=_broker(), letter_id=letter_id)
