"""`GET /metrics`: Herald's Prometheus metrics, and what is measured per request or per scrape.

The counters, gauges and histograms are defined in `app.metrics` and recorded
where things happen. This module adds the HTTP figures (every request, by route
template and status) and, at each scrape, the figures that are a state rather
than events: the outbox's backlog and the age of its oldest entry, the consumer
lag of every live instance (read from the broker), and the users online (from
the presence collection). Reading them at scrape time keeps the relay and the
consumer free of bookkeeping, and any worker answers for all: each reads the
same database and broker.

Access (config.py): the bearer METRICS_TOKEN, an admin's access token, or
anyone with METRICS_PUBLIC. Or, under gunicorn, METRICS_PORT: a listener of its
own in every worker that serves /metrics to anyone and nothing else, while the
main port answers 404 there. The workers serve it, not gunicorn's master,
because the scrape-time figures need the app's database and broker.
"""

import hmac
import logging
import time

from flask import Response, current_app, g, request
from flask.views import MethodView
from flask_jwt_extended import current_user, verify_jwt_in_request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

from app import cluster, database, metrics, presence
from app.delivery.backlog import consumer_lag, outbox_backlog
from app.errors import ErrorSchema, Forbidden, NotFound
from app.extensions import current_node
from app.security import BEARER, Blueprint

logger = logging.getLogger(__name__)
blp = Blueprint("metrics", __name__, description="Prometheus metrics")
_TEXT_FORMAT = {
    "description": "Prometheus's text exposition format",
    "content": {"text/plain": {"schema": {"type": "string"}}},
}
UNMATCHED = "<unmatched>"  # the route label of a 404: raw paths would be unbounded


@blp.route("/metrics")
class Metrics(MethodView):
    @blp.doc(security=BEARER, responses={"200": _TEXT_FORMAT})
    @blp.alt_response(403, schema=ErrorSchema, description="Neither METRICS_TOKEN nor an admin")
    def get(self):
        """Prometheus metrics, in the text format (METRICS_TOKEN, or an admin's token)"""
        _authorize()
        registry = recorded_metrics(current_app.config)
        registry.register(ScrapeTimeFigures(current_node(), current_app.config))
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def _authorize():
    if current_app.config["METRICS_PORT"]:
        return  # _separate_port let only the metrics port's requests through
    token = current_app.config["METRICS_TOKEN"]
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if token and scheme.lower() == "bearer" and hmac.compare_digest(presented, token):
        return
    if current_app.config["METRICS_PUBLIC"]:
        return
    verify_jwt_in_request()
    if not current_user.is_admin:
        raise Forbidden("Metrics are for admins and the METRICS_TOKEN only.")


def recorded_metrics(config) -> CollectorRegistry:
    """A registry of what `app.metrics` recorded: every worker's, or this process's."""
    registry = CollectorRegistry(auto_describe=False)
    if config["PROMETHEUS_MULTIPROC_DIR"]:
        multiprocess.MultiProcessCollector(registry)  # every worker's files
    else:
        registry.register(_ThisProcess())
    return registry


def totals(config, names) -> dict[str, float]:
    """{name: the sum of its samples over every label and worker} for `names`."""
    sums = dict.fromkeys(names, 0.0)
    for family in recorded_metrics(config).collect():
        for sample in family.samples:
            if sample.name in sums:
                sums[sample.name] += sample.value
    return sums


class _ThisProcess:
    """The default registry (one process: `flask run`, tests), forwarded to a scrape's registry."""

    def collect(self):
        yield from REGISTRY.collect()


class ScrapeTimeFigures:
    """The figures read when Prometheus scrapes: outbox, consumer lag, users online."""

    def __init__(self, node, config):
        self.node, self.topic = node, config["BROKER_TOPIC"]
        self.group_prefix = config["BROKER_GROUP_PREFIX"]

    def collect(self):
        database_up = GaugeMetricFamily("herald_database_up", "1 if the scrape read the database.")
        try:
            yield from self._from_database()
            database_up.add_metric([], 1)
        except database.DATABASE_ERRORS as error:
            logger.warning("Metrics without the database's figures: %s", error)
            database_up.add_metric([], 0)
        yield database_up
        yield from self._consumer_lag()

    def _from_database(self):
        backlog, age = outbox_backlog(self.topic)
        online = len(presence.online_user_ids())
        yield _gauge("herald_outbox_entries", "Notifications not yet taken by the broker.", backlog)
        yield _gauge(
            "herald_outbox_oldest_age_seconds",
            "Age of the oldest notification not yet taken by the broker (0: none).",
            age,
        )
        yield _gauge("herald_users_online", "Users with a socket on a live instance.", online)

    def _consumer_lag(self):
        broker_up = GaugeMetricFamily("herald_broker_up", "1 if the scrape read the consumer lag.")
        lag = GaugeMetricFamily(
            "herald_consumer_lag",
            "Messages each live instance's consumer has not acknowledged yet (Kafka: per "
            "partition, high-water minus committed offset; RabbitMQ: its queue's depth).",
            labels=["instance", "partition"],
        )
        try:
            for instance, partitions in self.lag_by_instance().items():
                for partition, value in partitions.items():
                    lag.add_metric([instance, partition], value)
            broker_up.add_metric([], 1)
        except self.node.broker.connection_errors + database.DATABASE_ERRORS as error:
            logger.warning("Metrics without the consumer lag: %s", error)
            broker_up.add_metric([], 0)
        yield lag
        yield broker_up

    def lag_by_instance(self):
        """{instance id: {partition: lag}} of the live instances."""
        ids = cluster.live_instance_ids()
        groups = {f"{self.group_prefix}-{instance}": instance for instance in ids}
        return consumer_lag(self.node.broker, self.topic, groups)


def _gauge(name, documentation, value):
    family = GaugeMetricFamily(name, documentation)
    family.add_metric([], value)
    return family


def _started():
    g.herald_started = time.perf_counter()


def _separate_port():
    """With METRICS_PORT, /metrics there and only there: the rest is a 404 on that port."""
    port = current_app.config["METRICS_PORT"]
    if not port:
        return
    # The socket gunicorn accepted on, not the Host header, which any client writes.
    accepted = request.environ.get("gunicorn.socket")
    on_metrics_port = accepted is not None and accepted.getsockname()[1] == port
    for_metrics = request.url_rule is not None and request.url_rule.rule == "/metrics"
    if on_metrics_port != for_metrics:
        raise NotFound("Not found on this port.")


def _measured(response):
    """Count the request by its route template (`/api/notifications/<id>`), never its path."""
    route = request.url_rule.rule if request.url_rule is not None else UNMATCHED
    status = response.status_code
    upgraded = request.environ.get("HTTP_UPGRADE", "").lower() == "websocket" and status == 200
    if upgraded:  # flask-sock answers once the socket is closed: that is its life, not latency
        status = 101
    metrics.HTTP_REQUESTS.labels(request.method, route, str(status)).inc()
    started = g.get("herald_started")
    if started is not None and not upgraded:
        metrics.HTTP_LATENCY.labels(request.method, route).observe(time.perf_counter() - started)
    return response


def init_app(app):
    app.before_request(_started)
    app.before_request(_separate_port)
    app.after_request(_measured)
