"""The browser client: `GET /` serves `app/static/index.html`, which loads its ES modules."""

from flask import Blueprint, current_app

bp = Blueprint("web", __name__)


@bp.get("/")
def index():
    """The single page; no-cache so a deploy's new page (and module URLs) is picked up."""
    response = current_app.send_static_file("index.html")
    response.headers["Cache-Control"] = "no-cache"
    return response
