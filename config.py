"""Herald settings, read from the environment (and from `.env` in development).

Every tunable of the service lives here; the rest of the code reads
`current_app.config` and never `os.environ`. Settings made of other settings
(`BROKER_OPTIONS`, `SOCK_SERVER_OPTIONS`) are properties, so they follow their
parts when a test or `create_app({...})` overrides one.
"""

import os
import secrets
import socket
import uuid

from dotenv import load_dotenv

# The default secret marks a development setup; production refuses it.
DEFAULT_JWT_SECRET = "herald-development-secret-change-me"


def env_str(name, default=None):
    """A string setting; an empty value counts as unset."""
    value = os.environ.get(name, "").strip()
    return value or default


def env_int(name, default):
    return int(env_str(name, default))


def env_float(name, default):
    return float(env_str(name, default))


def env_bool(name, default):
    value = env_str(name)
    if value is None:
        return default
    return value.lower() in ("1", "true", "yes", "on")


def default_instance_id():
    """A name unique to this process, so each worker gets its own broker group."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class Config:
    """Settings shared by every environment; each reads its variable at creation."""

    ENV_NAME = "base"

    def __init__(self):
        self.SECRET_KEY = env_str("SECRET_KEY", secrets.token_hex(32))
        self.JWT_SECRET_KEY = env_str("JWT_SECRET_KEY", DEFAULT_JWT_SECRET)
        self.JWT_ACCESS_TOKEN_EXPIRES = env_int("JWT_ACCESS_TOKEN_EXPIRES", 900)
        self.JWT_REFRESH_TOKEN_EXPIRES = env_int("JWT_REFRESH_TOKEN_EXPIRES", 14 * 24 * 3600)
        self.JWT_QUERY_STRING_NAME = "token"
        self.BCRYPT_ROUNDS = env_int("BCRYPT_ROUNDS", 12)

        self.MONGODB_URI = env_str("MONGODB_URI", "mongodb://127.0.0.1:27027/herald")
        self.MONGODB_TIMEOUT_MS = env_int("MONGODB_TIMEOUT_MS", 3000)

        self.BROKER_URL = env_str("BROKER_URL", "memory://")
        self.BROKER_TOPIC = env_str("BROKER_TOPIC", "herald.notifications")
        self.BROKER_DEAD_LETTER_TOPIC = env_str("BROKER_DEAD_LETTER_TOPIC", "herald.dead-letters")
        self.BROKER_GROUP_PREFIX = env_str("BROKER_GROUP_PREFIX", "herald")
        self.BROKER_PUBLISH_TIMEOUT = env_float("BROKER_PUBLISH_TIMEOUT", 5.0)
        self.BROKER_CHECK_TIMEOUT = env_float("BROKER_CHECK_TIMEOUT", 2.5)
        self.KAFKA_PARTITIONS = env_int("KAFKA_PARTITIONS", 3)
        self.KAFKA_REPLICATION_FACTOR = env_int("KAFKA_REPLICATION_FACTOR", 1)
        self.KAFKA_FETCH_WAIT_MAX_MS = env_int("KAFKA_FETCH_WAIT_MAX_MS", 10)
        self.KAFKA_SESSION_TIMEOUT_MS = env_int("KAFKA_SESSION_TIMEOUT_MS", 6000)
        self.KAFKA_LINGER_MS = env_int("KAFKA_LINGER_MS", 2)
        self.KAFKA_DEBUG = env_str("KAFKA_DEBUG", "")
        self.RABBITMQ_PREFETCH_COUNT = env_int("RABBITMQ_PREFETCH_COUNT", 300)
        self.RABBITMQ_QUEUE_EXPIRES = env_float("RABBITMQ_QUEUE_EXPIRES", 600.0)
        self.RABBITMQ_HEARTBEAT = env_int("RABBITMQ_HEARTBEAT", 30)
        self.INSTANCE_ID = env_str("INSTANCE_ID", default_instance_id())
        self.CONSUMER_ENABLED = env_bool("CONSUMER_ENABLED", True)
        # Off: the app starts no background loop (relay, consumer, heartbeat): for
        # `flask` commands and tests that only look at the app.
        self.BACKGROUND_TASKS = env_bool("BACKGROUND_TASKS", True)

        # How long an Idempotency-Key is remembered (a day, like Stripe's).
        self.IDEMPOTENCY_KEY_TTL = env_float("IDEMPOTENCY_KEY_TTL", 24 * 3600.0)
        # How long after sending it a sender (or an admin) may edit or retract a notification.
        self.NOTIFICATION_EDIT_WINDOW = env_float("NOTIFICATION_EDIT_WINDOW", 24 * 3600.0)
        # How long the changes of an inbox (read, deleted, edited...) are kept, so a
        # client reconnecting with `seq` learns what changed; an older `seq` reloads.
        self.INBOX_CHANGES_RETENTION = env_float("INBOX_CHANGES_RETENTION", 7 * 24 * 3600.0)

        # Notifying an audience (a topic, a user's followers): up to FANOUT_SYNC_LIMIT
        # members are written before the answer, more by the fan-out workers, in
        # batches; a job whose instance stops renewing its lease is taken over.
        self.FANOUT_SYNC_LIMIT = env_int("FANOUT_SYNC_LIMIT", 100)
        self.FANOUT_BATCH_SIZE = env_int("FANOUT_BATCH_SIZE", 500)
        self.FANOUT_LEASE = env_float("FANOUT_LEASE", 30.0)
        self.FANOUT_POLL_INTERVAL = env_float("FANOUT_POLL_INTERVAL", 2.0)
        self.OUTBOX_POLL_INTERVAL = env_float("OUTBOX_POLL_INTERVAL", 1.0)
        self.OUTBOX_ORPHAN_AFTER = env_float("OUTBOX_ORPHAN_AFTER", 10.0)
        self.OUTBOX_BATCH_SIZE = env_int("OUTBOX_BATCH_SIZE", 500)
        # How long a new subscription waits for what is half-published (see consumer.py).
        self.OUTBOX_SETTLE_TIMEOUT = env_float("OUTBOX_SETTLE_TIMEOUT", 5.0)
        self.RETRY_MAX_ATTEMPTS = env_int("RETRY_MAX_ATTEMPTS", 5)
        self.RETRY_BASE_DELAY = env_float("RETRY_BASE_DELAY", 0.2)

        # Channels beyond the socket (app/channels): each reads the broker in a group
        # of its own. Off: these web workers run no sender (run `flask channels`).
        self.CHANNELS_ENABLED = env_bool("CHANNELS_ENABLED", True)
        # Which channels a sender runs (names in app/channels/base.py's REGISTRY).
        self.CHANNELS = env_str("CHANNELS", "email,push").replace(" ", "").split(",")
        # The notification types preferences may name (others follow the channel's switch).
        self.NOTIFICATION_TYPES = env_str("NOTIFICATION_TYPES", "message,post,alert").split(",")
        # Channels a user who never chose gets (the rest are off until turned on).
        self.CHANNEL_DEFAULTS = env_str("CHANNEL_DEFAULTS", "email,push").split(",")
        # Email a notification still unread this many seconds after it was created
        # (at once when its recipient had no socket open).
        self.EMAIL_DELAY = env_float("EMAIL_DELAY", 60.0)
        # An email waits this long after its first notification was due, so that
        # the user's notifications due meanwhile go out with it as one digest.
        self.EMAIL_DIGEST_WINDOW = env_float("EMAIL_DIGEST_WINDOW", 30.0)
        # How long a sender holds the emails it claimed before another may take over.
        self.EMAIL_LEASE = env_float("EMAIL_LEASE", 60.0)
        self.EMAIL_POLL_INTERVAL = env_float("EMAIL_POLL_INTERVAL", 1.0)
        # Emails a sender has in flight at once (each mostly waits on SMTP and the database).
        self.EMAIL_SENDER_CONCURRENCY = env_int("EMAIL_SENDER_CONCURRENCY", 8)
        # SMTP failures: retried EMAIL_RETRY_BASE_DELAY * 2**n later, then dead-lettered.
        self.EMAIL_MAX_ATTEMPTS = env_int("EMAIL_MAX_ATTEMPTS", 5)
        self.EMAIL_RETRY_BASE_DELAY = env_float("EMAIL_RETRY_BASE_DELAY", 30.0)
        # smtp://user:pass@host:port, smtps:// (TLS at once) or smtp+starttls://.
        self.SMTP_URL = env_str("SMTP_URL", "smtp://127.0.0.1:1025")
        self.SMTP_TIMEOUT = env_float("SMTP_TIMEOUT", 10.0)
        self.EMAIL_FROM = env_str("EMAIL_FROM", "Herald <herald@localhost>")
        # Where people reach Herald, for the links in emails (unsubscribe, the inbox).
        self.PUBLIC_URL = env_str("PUBLIC_URL", "http://127.0.0.1:5000").rstrip("/")

        # /readyz answers 503 while this instance's consumer is more than this many
        # messages behind, or its oldest unpublished notification older than this many
        # seconds, so a load balancer sends sockets elsewhere (0 turns a check off).
        self.READY_MAX_CONSUMER_LAG = env_int("READY_MAX_CONSUMER_LAG", 10000)
        self.READY_MAX_OUTBOX_AGE = env_float("READY_MAX_OUTBOX_AGE", 300.0)

        # How often an admin's socket watching the figures (the admin page) gets them.
        self.ADMIN_STATS_INTERVAL = env_float("ADMIN_STATS_INTERVAL", 2.0)

        self.PRESENCE_TTL = env_float("PRESENCE_TTL", 30.0)
        self.WS_PING_INTERVAL = env_float("WS_PING_INTERVAL", 25.0)
        self.WS_MAX_MESSAGE_SIZE = env_int("WS_MAX_MESSAGE_SIZE", 16 * 1024)
        self.WS_PERMESSAGE_DEFLATE = env_bool("WS_PERMESSAGE_DEFLATE", False)
        self.WS_SEND_QUEUE_SIZE = env_int("WS_SEND_QUEUE_SIZE", 1000)
        self.WS_RESUME_LIMIT = env_int("WS_RESUME_LIMIT", 1000)
        # How long a resume waits for the relay to finish notifications it half-published.
        self.WS_RESUME_WAIT = env_float("WS_RESUME_WAIT", 2.0)
        self.WS_TOKEN_CHECK_INTERVAL = env_float("WS_TOKEN_CHECK_INTERVAL", 5.0)
        self.WS_CLIENT_FRAMES_PER_SECOND = env_float("WS_CLIENT_FRAMES_PER_SECOND", 10.0)
        # A socket's typing indicator is passed on to one user at most once this often.
        self.WS_TYPING_INTERVAL = env_float("WS_TYPING_INTERVAL", 1.0)

        # GraphQL (app/graphql): the limits every document is validated against.
        # Nesting deeper than this is refused (a deep query is a denial of service).
        self.GRAPHQL_MAX_DEPTH = env_int("GRAPHQL_MAX_DEPTH", 10)
        # Aliases per document: `a1: me ... a1000: me` would run a resolver each.
        self.GRAPHQL_MAX_ALIASES = env_int("GRAPHQL_MAX_ALIASES", 30)
        # Fields times the page sizes around them (app/graphql/limits.py).
        self.GRAPHQL_MAX_COST = env_int("GRAPHQL_MAX_COST", 20000)
        # Tokens per document, checked while parsing, before anything else is done.
        self.GRAPHQL_MAX_TOKENS = env_int("GRAPHQL_MAX_TOKENS", 2000)
        # Introspection (and so GraphiQL's schema view): on except in production.
        self.GRAPHQL_INTROSPECTION = env_bool(
            "GRAPHQL_INTROSPECTION", self.ENV_NAME != "production"
        )
        # Documents remembered for automatic persisted queries (app/graphql/persisted.py); 0: off.
        self.GRAPHQL_PERSISTED_QUERIES = env_int("GRAPHQL_PERSISTED_QUERIES", 1000)
        # A graphql-transport-ws client must send connection_init within this (else 4408).
        self.GRAPHQL_WS_INIT_TIMEOUT = env_float("GRAPHQL_WS_INIT_TIMEOUT", 10.0)
        # GET /api/stream (app/realtime/stream.py): a `?token=` from POST /api/stream/token
        # is good for this long; EventSource sends no headers, so it sits in URLs and logs.
        self.STREAM_TOKEN_TTL = env_int("STREAM_TOKEN_TTL", 60)
        # A comment this often keeps proxies from closing an idle stream, and finds dead readers.
        self.STREAM_KEEPALIVE_INTERVAL = env_float("STREAM_KEEPALIVE_INTERVAL", 15.0)
        # How long EventSource waits before reconnecting (the stream's `retry:`).
        self.STREAM_RETRY_MS = env_int("STREAM_RETRY_MS", 2000)

        self.RATELIMIT_ENABLED = env_bool("RATELIMIT_ENABLED", True)
        self.RATELIMIT_STORAGE_URI = env_str("RATELIMIT_STORAGE_URI", "memory://")
        # Limits in the `limits` notation: "10/minute", "100/hour;10/minute".
        self.RATELIMITS = {
            "login_per_address": env_str("RATELIMIT_LOGIN_PER_ADDRESS", "30/minute"),
            "login_per_account": env_str("RATELIMIT_LOGIN_PER_ACCOUNT", "10/minute"),
            "register_per_address": env_str("RATELIMIT_REGISTER_PER_ADDRESS", "20/hour"),
            "notify_per_sender": env_str("RATELIMIT_NOTIFY_PER_SENDER", "120/minute"),
            "socket_per_address": env_str("RATELIMIT_SOCKET_PER_ADDRESS", "60/minute"),
        }
        # Browser origins allowed to call the API and open sockets ("" = same origin only).
        self.CORS_ALLOWED_ORIGINS = [
            origin.strip()
            for origin in env_str("CORS_ALLOWED_ORIGINS", "").split(",")
            if origin.strip()
        ]
        # How many proxies in front of Herald set X-Forwarded-For (0: trust none).
        self.PROXY_COUNT = env_int("PROXY_COUNT", 0)
        self.MAX_CONTENT_LENGTH = env_int("MAX_CONTENT_LENGTH", 64 * 1024)
        self.JSON_MAX_DEPTH = env_int("JSON_MAX_DEPTH", 32)
        # Profile pictures: the upload route's own body limit (every other route keeps
        # MAX_CONTENT_LENGTH), the most pixels an upload may declare (decompression
        # bombs), the longest side kept, and how long clients may cache one unchecked.
        self.PICTURE_MAX_BYTES = env_int("PICTURE_MAX_BYTES", 2 * 1024 * 1024)
        self.PICTURE_MAX_PIXELS = env_int("PICTURE_MAX_PIXELS", 25_000_000)
        self.PICTURE_MAX_SIDE = env_int("PICTURE_MAX_SIDE", 512)
        self.PICTURE_CACHE_MAX_AGE = env_int("PICTURE_CACHE_MAX_AGE", 300)
        self.NOTIFICATION_DATA_MAX_BYTES = env_int("NOTIFICATION_DATA_MAX_BYTES", 4096)
        self.BROADCAST_MAX_RECIPIENTS = env_int("BROADCAST_MAX_RECIPIENTS", 10000)

        # Web Push (app/channels/push). VAPID_PRIVATE_KEY: the server's P-256 key, either
        # PEM (PKCS8 or SEC1) or the base64url raw 32-byte key that `npx web-push
        # generate-vapid-keys` and py-vapid print; unset turns push off (scripts/run.sh
        # makes one in .run/ for development). VAPID_SUBJECT: how a push service reaches
        # the operator, a mailto: or https: URL (RFC 8292).
        self.VAPID_PRIVATE_KEY = env_str("VAPID_PRIVATE_KEY")
        self.VAPID_SUBJECT = env_str("VAPID_SUBJECT", "mailto:admin@herald.invalid")
        # How long a push service keeps a push for an unreachable device, in seconds.
        self.PUSH_TTL = env_int("PUSH_TTL", 24 * 3600)
        # The Urgency header (very-low, low, normal, high), and per notification type
        # ("message=high,digest=low") where a type deserves another.
        self.PUSH_URGENCY = env_str("PUSH_URGENCY", "normal")
        self.PUSH_URGENCY_BY_TYPE = dict(
            pair.strip().split("=", 1)
            for pair in env_str("PUSH_URGENCY_BY_TYPE", "").split(",")
            if "=" in pair
        )
        # How long one request to a push service may take before it counts as failed.
        self.PUSH_TIMEOUT = env_float("PUSH_TIMEOUT", 10.0)
        # On: a user with a live socket gets no push (the socket showed it already).
        self.PUSH_ONLY_WHEN_OFFLINE = env_bool("PUSH_ONLY_WHEN_OFFLINE", True)
        # Devices one user may register; more is refused (422).
        self.PUSH_MAX_SUBSCRIPTIONS = env_int("PUSH_MAX_SUBSCRIPTIONS", 20)
        # On: endpoints may be http://127.0.0.1 (the tests' push service); off, https only.
        self.PUSH_ALLOW_LOOPBACK_HTTP = env_bool("PUSH_ALLOW_LOOPBACK_HTTP", False)
        # How long the record of each push is kept: within it a retry or a replayed dead
        # letter never pushes a notification twice to one device.
        self.PUSH_SENDS_RETENTION = env_float("PUSH_SENDS_RETENTION", 7 * 24 * 3600.0)

        self.ADMIN_USERNAME = env_str("ADMIN_USERNAME")
        self.ADMIN_EMAIL = env_str("ADMIN_EMAIL")
        self.ADMIN_PASSWORD = env_str("ADMIN_PASSWORD")

        self.LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
        # "text" (readable, the default) or "json": one JSON object per line, for a
        # log pipeline; either way each line carries the request id (app/logs.py).
        self.LOG_FORMAT = env_str("LOG_FORMAT", "text").lower()

        # GET /metrics (Prometheus). Who may scrape: a request with
        # `Authorization: Bearer <METRICS_TOKEN>` (when set), an admin's access token,
        # or anyone when METRICS_PUBLIC is on (for a port only Prometheus reaches).
        self.METRICS_TOKEN = env_str("METRICS_TOKEN")
        self.METRICS_PUBLIC = env_bool("METRICS_PUBLIC", False)
        # Under gunicorn, a port of its own for /metrics (0: none): gunicorn.conf.py
        # binds it beside PORT, and a request there reaches /metrics with no token
        # and nothing else, while /metrics on PORT is a 404. Keep it off the internet.
        self.METRICS_PORT = env_int("METRICS_PORT", 0)
        # Where each gunicorn worker keeps its metrics so a scrape adds them all up
        # (prometheus-client's multiprocess mode; the library reads the variable
        # itself, at import). gunicorn.conf.py makes a fresh folder when none is given.
        self.PROMETHEUS_MULTIPROC_DIR = env_str("PROMETHEUS_MULTIPROC_DIR")
        self.API_TITLE = "Herald"
        self.API_VERSION = "1.0.0"
        self.OPENAPI_VERSION = "3.0.3"
        self.OPENAPI_URL_PREFIX = "/api-docs"
        self.OPENAPI_JSON_PATH = "openapi.json"
        self.OPENAPI_SWAGGER_UI_PATH = "/"
        # Swagger UI is served from the swagger-ui-bundle package, never a CDN.
        self.OPENAPI_SWAGGER_UI_URL = "/api-docs/static/"

    @property
    def BROKER_OPTIONS(self):
        """Adapter tuning; each adapter reads the keys it knows (app/brokers/kafka.py,
        app/brokers/rabbitmq.py) and ignores the rest."""
        return {
            "publish_timeout": self.BROKER_PUBLISH_TIMEOUT,
            "check_timeout": self.BROKER_CHECK_TIMEOUT,
            "partitions": self.KAFKA_PARTITIONS,
            "replication_factor": self.KAFKA_REPLICATION_FACTOR,
            "fetch_wait_max_ms": self.KAFKA_FETCH_WAIT_MAX_MS,
            "session_timeout_ms": self.KAFKA_SESSION_TIMEOUT_MS,
            "linger_ms": self.KAFKA_LINGER_MS,
            "debug": self.KAFKA_DEBUG,
            "prefetch_count": self.RABBITMQ_PREFETCH_COUNT,
            "queue_expires": self.RABBITMQ_QUEUE_EXPIRES,
            "heartbeat": self.RABBITMQ_HEARTBEAT,
        }

    @property
    def SOCK_SERVER_OPTIONS(self):
        """flask-sock's options. Herald pings every socket from one loop
        (WS_PING_INTERVAL, app/realtime/heartbeat.py), not from simple-websocket's
        per-socket selector."""
        # A client at /graphql asks for graphql-transport-ws (app/graphql/transport_ws.py);
        # one at /ws asks for none and gets none.
        return {
            "ping_interval": None,
            "max_message_size": self.WS_MAX_MESSAGE_SIZE,
            "subprotocols": ["graphql-transport-ws"],
        }

    def apply(self, overrides):
        """Set the settings in `overrides` (a dict); derived ones follow. Returns self."""
        for name, value in overrides.items():
            setattr(self, name, value)
        return self

    def validate(self):
        """Refuse settings that are unsafe for this environment."""


class DevelopmentConfig(Config):
    ENV_NAME = "development"


class TestingConfig(Config):
    ENV_NAME = "testing"

    def __init__(self):
        super().__init__()
        self.TESTING = True
        self.BCRYPT_ROUNDS = env_int("BCRYPT_ROUNDS", 4)
        # Tests register hundreds of users from one address; the limit tests turn it on.
        self.RATELIMIT_ENABLED = env_bool("RATELIMIT_ENABLED", False)
        # No test server emails anyone unless its test turns channels on.
        self.CHANNELS_ENABLED = env_bool("CHANNELS_ENABLED", False)


class ProductionConfig(Config):
    ENV_NAME = "production"

    def validate(self):
        secret = self.JWT_SECRET_KEY
        if secret == DEFAULT_JWT_SECRET or len(secret) < 32:
            raise RuntimeError(
                "JWT_SECRET_KEY must be set to a random value of at least 32 characters "
                "in production"
            )


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def load_config(name=None):
    """The settings object for HERALD_ENV (default development), `.env` applied first."""
    name = name or os.environ.get("HERALD_ENV", "development")
    if name == "development":
        # The working directory's .env: config.py may be installed in site-packages.
        load_dotenv(os.path.join(os.getcwd(), ".env"))
    try:
        config = CONFIGS[name]()
    except KeyError:
        raise RuntimeError(f"HERALD_ENV must be one of {sorted(CONFIGS)}, not {name!r}") from None
    config.validate()
    return config
