"""Browser-facing protections: security headers, a content security policy, CORS.

Every response gets the usual hardening headers. HTML pages get a strict
Content-Security-Policy; Swagger UI's page also allows inline styles (the
library sets style attributes) and data: images. CORS is off unless
CORS_ALLOWED_ORIGINS names the origins that may call the API from a browser;
the same list is checked on the WebSocket handshake (`origin_allowed`).
"""

from urllib.parse import urlsplit

from flask import current_app, request
from flask_cors import CORS

BASE_POLICY = (
    "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SWAGGER_POLICY = BASE_POLICY + "; style-src 'self' 'unsafe-inline'"
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def init_app(app):
    origins = app.config["CORS_ALLOWED_ORIGINS"]
    if origins:
        CORS(
            app,
            resources={r"/api/*": {"origins": origins}, r"/graphql": {"origins": origins}},
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
            expose_headers=["Retry-After", "Idempotent-Replayed"],
            max_age=600,
        )
    app.after_request(add_security_headers)


def add_security_headers(response):
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if response.mimetype == "text/html":
        swagger = request.path.startswith(current_app.config["OPENAPI_URL_PREFIX"])
        response.headers.setdefault(
            "Content-Security-Policy", SWAGGER_POLICY if swagger else BASE_POLICY
        )
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def origin_allowed(origin, *, host, allowed):
    """A browser's WebSocket from `origin` may connect: same host, or a listed origin."""
    if not origin:
        return True  # not a browser: nothing to protect with an origin check
    return urlsplit(origin).netloc == host or origin in allowed
