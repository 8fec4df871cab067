"""Herald's Prometheus metrics: every one defined here, recorded where it happens.

A leaf module (it imports nothing of Herald), so every package may record a
metric with one line at the call site. `app.monitoring` serves them at
`/metrics`, with the figures read at scrape time (outbox, consumer lag).

Under gunicorn each worker is a process of its own: prometheus-client's
multiprocess mode, on when PROMETHEUS_MULTIPROC_DIR is set before this module
is imported (`gunicorn.conf.py` sets it), keeps each worker's values in files
there, and a scrape of any worker adds them all up. Gauges of sockets are
`livesum`: the sum over the workers alive now.
"""

from prometheus_client import Counter, Gauge, Histogram

# From a request served from memory to one stuck behind a broker outage.
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

HTTP_REQUESTS = Counter(
    "herald_http_requests",
    "HTTP requests answered, by route template (never the raw path) and status.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "herald_http_request_duration_seconds",
    "Time to answer an HTTP request (a WebSocket's handshake, not its life).",
    ["method", "route"],
    buckets=_LATENCY_BUCKETS,
)
SOCKETS_OPEN = Gauge("herald_sockets_open", "WebSockets open now.", multiprocess_mode="livesum")
SOCKET_USERS = Gauge(
    "herald_socket_users",
    "Users with at least one WebSocket, counted once per instance (worker) they are on.",
    multiprocess_mode="livesum",
)
FRAMES_SENT = Counter(
    "herald_frames_sent", "Notification frames handed to sockets (one per socket)."
)
FRAMES_DROPPED = Counter(
    "herald_frames_dropped",
    "Frames dropped because a socket's queue overflowed (the socket is closed, its "
    "client reconnects with `since`).",
)
SOCKETS_OVERFLOWED = Counter(
    "herald_sockets_overflowed", "Sockets closed because their client could not keep up."
)
NOTIFICATIONS_CREATED = Counter("herald_notifications_created", "Notifications saved.")
MESSAGES_SENT = Counter("herald_messages_sent", "Direct messages saved.")
DELIVERY_LATENCY = Histogram(
    "herald_delivery_latency_seconds",
    "From a notification's creation (its UUIDv7 time) to its hand-off to the recipient's "
    "sockets on an instance.",
    buckets=(0.001, 0.0025, *_LATENCY_BUCKETS),
)
EVENTS_CONSUMED = Counter(
    "herald_events_consumed",
    "Broker messages taken by an instance's consumer, by kind (every instance takes every one).",
    ["kind"],
)
CONSUMER_RETRIES = Counter(
    "herald_consumer_retries", "Broker messages whose handling failed and is tried again."
)
DEAD_LETTERS = Counter(
    "herald_dead_letters",
    "Messages dead-lettered: `malformed` at once, `exhausted` after the last attempt.",
    ["reason"],
)
RATE_LIMITED = Counter(
    "herald_rate_limited", "Requests refused with 429, by rule (a key of RATELIMITS).", ["rule"]
)


def socket_attached(first_of_user: bool) -> None:
    SOCKETS_OPEN.inc()
    if first_of_user:
        SOCKET_USERS.inc()


def socket_detached(last_of_user: bool) -> None:
    SOCKETS_OPEN.dec()
    if last_of_user:
        SOCKET_USERS.dec()


def delivered(notification_id: str, sockets: int, now: float) -> None:
    """`sockets` frames of `notification_id` handed over at `now` (a `time.time()`)."""
    if sockets:
        FRAMES_SENT.inc(sockets)
        DELIVERY_LATENCY.observe(max(0.0, now - created_at(notification_id)))


def created_at(notification_id: str) -> float:
    """The Unix time a UUIDv7 id was made at: its first 48 bits are milliseconds."""
    return int(notification_id[:8] + notification_id[9:13], 16) / 1000


_CONSUMED_BY_TYPE = {}  # event class -> its labelled counter: a lookup per message, not a build


def consumed(event: object) -> None:
    """One event taken off the broker: a `NotificationEvent` counts as kind="notification"."""
    kind = type(event)
    counter = _CONSUMED_BY_TYPE.get(kind)
    if counter is None:
        label = kind.__name__.removesuffix("Event").lower()
        counter = _CONSUMED_BY_TYPE[kind] = EVENTS_CONSUMED.labels(label)
    counter.inc()


def socket_overflowed(frames_dropped: int) -> None:
    SOCKETS_OVERFLOWED.inc()
    FRAMES_DROPPED.inc(frames_dropped)
