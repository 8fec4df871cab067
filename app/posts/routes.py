"""Post endpoints: thin views over `app.posts.service`."""

import marshmallow as ma
from flask import current_app
from flask.views import MethodView
from flask_jwt_extended import current_user
from marshmallow import validate

from app import ratelimit
from app.auth.models import User
from app.errors import ErrorSchema
from app.extensions import current_node
from app.pagination import PageArgsSchema, page_schema
from app.posts import service
from app.security import Blueprint

blp = Blueprint("posts", __name__, url_prefix="/api/posts", description="Posts")


class PostSchema(ma.Schema):
    id = ma.fields.String(required=True)
    authorId = ma.fields.String(attribute="author_id", required=True)
    authorName = ma.fields.Method("author_name", metadata={"description": "Their username"})
    text = ma.fields.String(required=True)
    createdAt = ma.fields.DateTime(attribute="created_at", required=True)
    fanoutId = ma.fields.String(
        attribute="fanout_id",
        allow_none=True,
        metadata={"description": "The job notifying the author's followers"},
    )

    def author_name(self, post):
        author = User.by_id(post.author_id)
        return author.username if author else None


class PostCreateSchema(ma.Schema):
    text = ma.fields.String(required=True, validate=validate.Length(min=1, max=500))


class PostQuerySchema(PageArgsSchema):
    author = ma.fields.String(metadata={"description": "Only this user's posts"})
    q = ma.fields.String(
        validate=validate.Length(max=200),
        metadata={"description": "Only posts containing every one of these words"},
    )


PostPageSchema = page_schema(PostSchema)


@blp.route("")
class Posts(MethodView):
    @blp.authenticated
    @blp.arguments(PostQuerySchema, location="query")
    @blp.response(200, PostPageSchema)
    def get(self, query):
        """Posts, newest first"""
        items, meta = service.search(**query)
        return {"items": items, "meta": meta}

    @blp.authenticated
    @blp.arguments(PostCreateSchema)
    @blp.response(201, PostSchema)
    @blp.alt_response(429, schema=ErrorSchema, description="Posting too fast")
    def post(self, body):
        """Publish a post; every follower of the caller is notified (type `post`)"""
        ratelimit.hit(current_app, "notify_per_sender", current_user.id)
        node, config = current_node(), current_app.config
        return service.publish(
            author_id=current_user.id,
            text=body["text"],
            outbox=node.outbox,
            worker=node.fanout,
            sync_limit=config["FANOUT_SYNC_LIMIT"],
            batch_size=config["FANOUT_BATCH_SIZE"],
        )


@blp.route("/<post_id>")
class PostItem(MethodView):
    @blp.authenticated
    @blp.response(200, PostSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such post")
    def get(self, post_id):
        """One post"""
        return service.get(post_id=post_id)

    @blp.authenticated
    @blp.response(204)
    @blp.alt_response(403, schema=ErrorSchema, description="Not the caller's")
    @blp.alt_response(404, schema=ErrorSchema, description="No such post")
    def delete(self, post_id):
        """Delete one's own post (admins: any)"""
        service.delete(post_id=post_id, user_id=current_user.id, is_admin=current_user.is_admin)
