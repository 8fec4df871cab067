"""`/graphql`: GraphQL over HTTP (POST, and GET for queries) and over WebSocket
(graphql-transport-ws), beside REST on the same app.

Each app builds its schema once with its own limits (`init_app`); the view
answers with strawberry's Flask integration, which is synchronous and so runs
as any Flask view does under the gevent worker. A browser opening /graphql gets
GraphiQL (`app/graphql/ide/`), whose files scripts/graphiql.sh fetched.
"""

from pathlib import Path

import click
from cross_web import HTTPException as StrawberryHTTPException
from flask import Blueprint, current_app, jsonify, make_response, render_template, request
from strawberry.flask.views import GraphQLView

from app import headers, ratelimit
from app.errors import Forbidden, error_response
from app.extensions import sock
from app.graphql import context, transport_ws
from app.graphql.errors import extensions_of
from app.graphql.persisted import PersistedQueries, PersistedQueryError
from app.graphql.schema import build_schema, sdl
from app.headers import origin_allowed

SCHEMA = "herald.graphql.schema"
PERSISTED = "herald.graphql.persisted"
IDE = Path(__file__).parent / "ide"
# GraphiQL's own files, and its start-up script and styles, under /graphql/ide/.
bp = Blueprint(
    "graphql", __name__, template_folder="ide", static_folder="ide", static_url_path="/graphql/ide"
)


class HeraldGraphQLView(GraphQLView):
    """strawberry's view on the app's schema, with Herald's context and error shape."""

    def __init__(self):
        super().__init__(schema=current_app.extensions[SCHEMA], graphql_ide=None)

    def get_context(self, request, response):
        return context.from_request(request)

    def parse_http_body(self, request):
        data = super().parse_http_body(request)
        if isinstance(data, list):  # (strawberry refuses batches unless enabled)
            return data
        return current_app.extensions[PERSISTED].resolve(data)

    def dispatch_request(self):
        if _wants_the_ide():
            return graphiql_page()
        try:
            return self.run(request=request)
        except PersistedQueryError as error:  # Apollo's clients read the message
            return jsonify({"errors": [{"message": str(error), "extensions": extensions_of(400)}]})
        except StrawberryHTTPException as error:  # not JSON, a mutation over GET, ...
            return error_response(error.status_code, error.reason)


def _wants_the_ide():
    """A browser opening /graphql (HTML preferred to JSON, no query given)."""
    accept = request.accept_mimetypes
    return (
        request.method == "GET"
        and "query" not in request.args
        and accept.quality("text/html") > accept.quality("application/json")
    )


def graphiql_page():
    """GraphiQL, from local files only; a 503 where scripts/graphiql.sh did not fetch them."""
    if not (IDE / "vendor" / "graphiql.min.js").is_file():
        return error_response(
            503, "GraphiQL is not installed here: run `scripts/graphiql.sh install`."
        )
    response = make_response(render_template("graphiql.html"))
    # GraphiQL's editors set style attributes, as Swagger UI does.
    response.headers["Content-Security-Policy"] = headers.SWAGGER_POLICY
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.before_request
def check_socket_origin():
    """A WebSocket to /graphql from a page of another origin is refused before the
    upgrade, as at /ws, and counts against the same per-address limit."""
    if request.environ.get("HTTP_UPGRADE", "").lower() != "websocket":
        return
    ratelimit.hit(current_app, "socket_per_address", request.remote_addr)
    origin = request.headers.get("Origin")
    allowed = current_app.config["CORS_ALLOWED_ORIGINS"]
    if not origin_allowed(origin, host=request.host, allowed=allowed):
        raise Forbidden(f"Origin {origin} may not open a socket here.")


@sock.route("/graphql", bp=bp)
def graphql_socket(ws):
    transport_ws.serve(ws, current_app.extensions[SCHEMA])


bp.add_url_rule("/graphql", view_func=HeraldGraphQLView.as_view("graphql_http"))


def init_app(app):
    app.extensions[SCHEMA] = build_schema(app.config)
    app.extensions[PERSISTED] = PersistedQueries(app.config["GRAPHQL_PERSISTED_QUERIES"])
    app.register_blueprint(bp)

    @app.cli.command("graphql-schema")
    def print_schema():
        """Print the GraphQL schema in SDL (`schema.graphql` is its output)."""
        click.echo(sdl(), nl=False)
