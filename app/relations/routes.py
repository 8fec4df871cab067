"""Block endpoints: thin views over `app.relations.service`."""

import marshmallow as ma
from flask.views import MethodView
from flask_jwt_extended import current_user

from app.errors import ErrorSchema
from app.pagination import PageArgsSchema, page_schema
from app.relations import service
from app.security import Blueprint

blp = Blueprint("relations", __name__, url_prefix="/api/users", description="Blocking")


class BlockSchema(ma.Schema):
    userId = ma.fields.String(attribute="blocked", required=True)
    createdAt = ma.fields.DateTime(attribute="created_at", required=True)


BlockPageSchema = page_schema(BlockSchema)


@blp.route("/<user_id>/block")
class UserBlock(MethodView):
    @blp.authenticated
    @blp.response(204)
    @blp.alt_response(404, schema=ErrorSchema, description="No such user")
    @blp.alt_response(422, schema=ErrorSchema, description="Blocking oneself")
    def put(self, user_id):
        """Block a user: they can no longer message or notify the caller (idempotent)"""
        service.block(blocker_id=current_user.id, blocked_id=user_id)

    @blp.authenticated
    @blp.response(204)
    @blp.alt_response(404, schema=ErrorSchema, description="No such user")
    def delete(self, user_id):
        """Unblock a user (idempotent)"""
        service.unblock(blocker_id=current_user.id, blocked_id=user_id)


@blp.route("/me/blocks")
class MyBlocks(MethodView):
    @blp.authenticated
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, BlockPageSchema)
    def get(self, query):
        """The users the caller blocked, newest first"""
        items, meta = service.blocked_by(user_id=current_user.id, **query)
        return {"items": items, "meta": meta}
