"""The browser client: `GET /` serves `app/static/index.html`, which loads its ES modules;
`GET /admin` the operator's view (`admin.html`), whose figures only admins' sockets get;
`GET /sw.js` the Web Push service worker, at the root so its scope is the whole site."""

from flask import Blueprint, current_app

bp = Blueprint("web", __name__)


@bp.get("/")
def index():
    """The single page; no-cache so a deploy's new page (and module URLs) is picked up."""
    response = current_app.send_static_file("index.html")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/admin")
def operator_view():
    """The operator's page; the page itself is public, its figures come to admins only."""
    response = current_app.send_static_file("admin.html")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/sw.js")
def service_worker():
    """The service worker; no-cache so browsers check for a new one on every visit."""
    response = current_app.send_static_file("sw.js")
    response.headers["Cache-Control"] = "no-cache"
    return response
