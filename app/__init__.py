"""Herald: real-time notifications over REST, a message broker and WebSockets.

This module holds the app factory only. The factory imports the rest of the
app itself, as flaskr does: importing one part (`app.auth.service`, say) runs
this module first, and must not load every other part with it.
"""

import logging

from flask import Flask

from config import Config, load_config

logger = logging.getLogger(__name__)


def create_app(config: Config | dict | None = None) -> Flask:
    """Build a Herald app; `config` is a settings object, or a dict of overrides."""
    app = Flask(__name__)
    settings = config if isinstance(config, Config) else load_config()
    if isinstance(config, dict):
        settings.apply(config)
    app.config.from_object(settings)
    _init_extensions(app)
    _register_blueprints(app)
    _start_node(app)
    _bootstrap_admin(app)
    return app


def _start_node(app):
    from app import node

    node.init_app(app)


def _init_extensions(app):
    from werkzeug.middleware.proxy_fix import ProxyFix

    from app import cli, database, errors, headers, logs, monitoring, ratelimit, request_limits
    from app.auth import tokens
    from app.extensions import api, jwt, sock
    from app.openapi import API_DESCRIPTION, CommonErrorsPlugin

    logs.init_app(app)  # first: the request id is on every line and every answer
    database.init_app(app)
    errors.init_app(app)
    monitoring.init_app(app)  # first of the before_request hooks, so it times them all
    ratelimit.init_app(app)
    headers.init_app(app)
    if app.config["PROXY_COUNT"]:
        # Rate limits and logs need the client's address, not the proxy's.
        count = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)
    app.config.setdefault("API_SPEC_OPTIONS", {"info": {"description": API_DESCRIPTION}})
    api.init_app(app, spec_kwargs={"extra_plugins": [CommonErrorsPlugin()]})
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
    jwt.init_app(app)
    tokens.init_app(jwt)
    sock.init_app(app)
    cli.init_app(app)
    app.before_request(request_limits.check_body)


def _register_blueprints(app):
    import swagger_ui_bundle
    from flask import Blueprint

    from app.audiences.routes import blp as audiences_blp
    from app.auth.routes import blp as auth_blp
    from app.channels.push.routes import blp as push_blp
    from app.channels.routes import blp as channels_blp
    from app.channels.routes import pages as unsubscribe_pages
    from app.conversations.routes import blp as conversations_blp
    from app.delivery.routes import blp as dead_letters_blp
    from app.extensions import api
    from app.health import blp as health_blp
    from app.monitoring import blp as metrics_blp
    from app.notifications.routes import blp as notifications_blp
    from app.posts.routes import blp as posts_blp
    from app.realtime.routes import bp as realtime_bp
    from app.realtime.stream import blp as stream_blp
    from app.relations.routes import blp as relations_blp
    from app.web import bp as web_bp

    for blueprint in (
        auth_blp,
        relations_blp,
        notifications_blp,
        audiences_blp,
        posts_blp,
        conversations_blp,
        push_blp,
        channels_blp,
        dead_letters_blp,
        health_blp,
        metrics_blp,
        stream_blp,
    ):
        api.register_blueprint(blueprint)
    app.register_blueprint(realtime_bp)
    app.register_blueprint(web_bp)
    # GraphQL beside REST, at /graphql (HTTP and graphql-transport-ws).
    from app.graphql import views as graphql_views

    graphql_views.init_app(app)
    app.register_blueprint(unsubscribe_pages)  # /unsubscribe/<token>: the emails' link
    app.register_blueprint(
        Blueprint(
            "docs_assets",
            __name__,
            static_folder="docs_assets",
            static_url_path="/api-docs/assets",
        )
    )
    # Swagger UI's files come from the swagger-ui-bundle package: no CDN.
    app.register_blueprint(
        Blueprint(
            "swagger_ui_files",
            __name__,
            static_folder=swagger_ui_bundle.swagger_ui_path,
            static_url_path=app.config["OPENAPI_SWAGGER_UI_URL"].rstrip("/"),
        )
    )


def _bootstrap_admin(app):
    """Create the admin named by ADMIN_USERNAME/EMAIL/PASSWORD, when all three are set."""
    username, email, password = (
        app.config["ADMIN_USERNAME"],
        app.config["ADMIN_EMAIL"],
        app.config["ADMIN_PASSWORD"],
    )
    if not (username and email and password):
        return
    from app import database
    from app.auth import service

    try:
        with app.app_context():
            service.ensure_admin(
                username=username,
                email=email,
                password=password,
                rounds=app.config["BCRYPT_ROUNDS"],
            )
    except database.DATABASE_ERRORS as error:
        logger.error("Admin %s not bootstrapped, the database is unavailable: %s", username, error)
