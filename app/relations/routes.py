"""Block and follow endpoints: thin views over `app.relations.service`."""

import marshmallow as ma
from flask.views import MethodView
from flask_jwt_extended import current_user

from app.errors import ErrorSchema
from app.pagination import PageArgsSchema, page_schema
from app.relations import service
from app.security import Blueprint

blp = Blueprint(
    "relations", __name__, url_prefix="/api/users", description="Blocking and following"
)


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


class FollowUserSchema(ma.Schema):
    id = ma.fields.String(required=True)
    username = ma.fields.String(required=True)
    since = ma.fields.DateTime(required=True, metadata={"description": "Following since"})


FollowPageSchema = page_schema(FollowUserSchema)


class ProfileSchema(ma.Schema):
    id = ma.fields.String(required=True)
    username = ma.fields.String(required=True)
    followersCount = ma.fields.Integer(attribute="followers_count", required=True)
    followingCount = ma.fields.Integer(attribute="following_count", required=True)
    followedByMe = ma.fields.Boolean(attribute="followed_by_me", required=True)


@blp.route("/<user_id>/profile")
class UserProfile(MethodView):
    @blp.authenticated
    @blp.response(200, ProfileSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such user")
    def get(self, user_id):
        """A user with their follower and following counts"""
        return service.profile(user_id=user_id, viewer_id=current_user.id)


@blp.route("/<user_id>/follow")
class UserFollow(MethodView):
    @blp.authenticated
    @blp.response(204)
    @blp.alt_response(404, schema=ErrorSchema, description="No such user")
    @blp.alt_response(422, schema=ErrorSchema, description="Following oneself")
    def put(self, user_id):
        """Follow a user: their posts reach the caller (idempotent)"""
        service.follow(follower_id=current_user.id, followed_id=user_id)

    @blp.authenticated
    @blp.response(204)
    @blp.alt_response(404, schema=ErrorSchema, description="No such user")
    def delete(self, user_id):
        """Stop following a user (idempotent)"""
        service.unfollow(follower_id=current_user.id, followed_id=user_id)


@blp.route("/<user_id>/followers")
class Followers(MethodView):
    @blp.authenticated
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, FollowPageSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such user")
    def get(self, query, user_id):
        """Who follows a user, newest first"""
        items, meta = service.followers(user_id=user_id, **query)
        return {"items": items, "meta": meta}


@blp.route("/<user_id>/following")
class Following(MethodView):
    @blp.authenticated
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, FollowPageSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such user")
    def get(self, query, user_id):
        """Whom a user follows, newest first"""
        items, meta = service.following(user_id=user_id, **query)
        return {"items": items, "meta": meta}
