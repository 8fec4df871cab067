"""Publishing, searching and deleting posts; plain functions, no Flask request inside.

A new post notifies every follower of its author (a notification of type
`post`, carrying the post) through the audiences' fan-out, so one post to a
hundred thousand followers is one request and survives a crash like any
fan-out.
"""

import re

from app.audiences import fanout
from app.audiences import service as audiences
from app.audiences.models import FOLLOWERS
from app.auth.models import User
from app.errors import Forbidden, NotFound
from app.ids import is_uuid
from app.notifications.ports import Outbox
from app.pagination import page_of
from app.posts.models import Post

POST_NOTIFICATION_TYPE = "post"
PREVIEW_CHARACTERS = 140


def publish(*, author_id, text, outbox: Outbox, worker, sync_limit, batch_size):
    """Save a post and notify the author's followers; returns the post."""
    post = Post(author_id=author_id, text=text)
    post.save(force_insert=True)
    author = User.by_id(author_id)
    job = fanout.new_job(
        sender_id=author_id,
        audience=FOLLOWERS,
        ref=author_id,
        message=f"{author.username} posted: {text[:PREVIEW_CHARACTERS]}",
        type=POST_NOTIFICATION_TYPE,
        data={"postId": post.id, "authorId": author_id, "text": text},
        writer=worker.instance_id,
        lease=worker.lease,
        sync_limit=sync_limit,
    )
    Post.objects(id=post.id).update_one(set__fanout_id=job.id)
    post.fanout_id = job.id
    audiences.start(job, outbox=outbox, worker=worker, batch_size=batch_size)
    return post


def search(*, page, per_page, author=None, q=None):
    """Posts, newest first; by `author` (a user id) and/or containing the words of `q`."""
    posts = Post.objects.order_by("-id")
    if author is not None:
        posts = posts.filter(author_id=author)
    words = (q or "").split()[:10]
    if words:  # every word, anywhere, any case (mongoengine's iregex adds a flag FerretDB refuses)
        posts = posts.filter(
            __raw__={"$and": [{"text": {"$regex": re.escape(w), "$options": "i"}} for w in words]}
        )
    return page_of(posts, page=page, per_page=per_page)


def get(*, post_id):
    post = Post.objects(id=post_id).first() if is_uuid(post_id) else None
    if post is None:
        raise NotFound("No such post.")
    return post


def delete(*, post_id, user_id, is_admin):
    """Delete one's own post (admins: any); someone else's is a 403."""
    post = get(post_id=post_id)
    if post.author_id != user_id and not is_admin:
        raise Forbidden("Only its author (or an admin) may delete a post.")
    post.delete()


def delete_posts_of(_app, *, user_id):
    """`signals.user_deleted`: the user's posts."""
    Post.objects(author_id=user_id).delete()
