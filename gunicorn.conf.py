"""gunicorn settings for Herald: the gevent worker, which holds thousands of sockets."""

import os
import shutil
import tempfile
from pathlib import Path

_host = os.environ.get("HOST", "127.0.0.1")
bind = [f"{_host}:{os.environ.get('PORT', '8000')}"]
# METRICS_PORT: every worker also listens there, for /metrics only (app/monitoring.py).
_metrics_port = os.environ.get("METRICS_PORT", "").strip()
if _metrics_port not in ("", "0"):
    bind.append(f"{os.environ.get('METRICS_HOST', _host)}:{_metrics_port}")
worker_class = "gevent"
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
# gevent's default of 1,000 connections per worker would cap the sockets a worker holds.
worker_connections = int(os.environ.get("WORKER_CONNECTIONS", "20000"))
# WebSockets live long; the arbiter must not kill a worker busy with them.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 20
keepalive = 5
# ACCESS_LOG= (empty) turns the access log off; the default is standard output.
accesslog = os.environ.get("ACCESS_LOG", "-") or None
# The path without its query string: a socket's access token travels in the query.
# Last, the request id Herald answered with (X-Request-ID, app/correlation.py).
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)ss "%(a)s" %({x-request-id}o)s'
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
if os.environ.get("LOG_FORMAT", "").strip().lower() == "json":
    # gunicorn's own lines as JSON objects too, in the fields of Herald's (app/logs.py);
    # python-json-logger is named, not app.logs, so the master never imports the app.
    logconfig_dict = {
        "root": {"level": loglevel.upper(), "handlers": []},  # the app's handler goes there
        "loggers": {
            "gunicorn.error": {"level": loglevel.upper(), "handlers": ["json"], "propagate": False},
            "gunicorn.access": {
                "level": "INFO",
                "handlers": ["json"] if accesslog else [],
                "propagate": False,
            },
        },
        "handlers": {
            "json": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            }
        },
    }
# The app (and its background threads) is created in each worker after gevent
# has patched it, never in the master.
preload_app = False
_made_metrics_folder = None  # the folder _metrics_folder made, removed on exit


def _metrics_folder():
    """Each worker's metrics go to files here, so a scrape of any worker counts them all.

    Set before any worker starts (prometheus-client picks its multiprocess mode when
    first imported, in the worker); a folder given by the operator is emptied, as the
    library asks, since values of an earlier run's workers would be added in.
    """
    global _made_metrics_folder
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
    if not given:
        _made_metrics_folder = tempfile.mkdtemp(prefix="herald-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = _made_metrics_folder
        return
    Path(given).mkdir(parents=True, exist_ok=True)
    for stale in Path(given).glob("*.db"):
        stale.unlink()


def on_starting(server):
    _metrics_folder()
    broker_url = os.environ.get("BROKER_URL", "memory://")
    if broker_url.startswith("memory://") and workers > 1:
        raise SystemExit(
            "BROKER_URL=memory:// cannot share notifications between gunicorn workers; "
            "use WEB_CONCURRENCY=1 or a Kafka/RabbitMQ broker"
        )


def _node_of(worker):
    from app.extensions import NODE

    app = getattr(worker, "wsgi", None)
    return getattr(app, "extensions", {}).get(NODE) if app else None


def post_worker_init(worker):
    """On SIGTERM, close every socket with 1001 so clients reconnect elsewhere at once.

    Otherwise the worker waits out graceful_timeout for sockets that never end.
    """
    import signal

    import gevent

    stop_accepting = worker.handle_exit

    def handle_exit(sig, frame):
        node = _node_of(worker)
        if node is not None:
            gevent.spawn(node.hub.close_all, 1001, "Server restarting; reconnect")
        stop_accepting(sig, frame)

    signal.signal(signal.SIGTERM, handle_exit)
    _tune_the_collector()


def _tune_the_collector():
    """Keep the cyclic collector's full passes, which stop every socket of the worker, rare.

    A full pass walks every object the worker has: about 140 per open socket, so
    100-130 ms per 1,000 sockets here (bench.fanout reports the pauses). What the
    app made at start-up lives as long as the worker, so it is frozen out of
    every pass; and a full pass waits for 100 middle-generation passes instead of
    10 (CPython also waits until a quarter more objects survived), which under a
    steady stream of notifications made it once a minute or so instead of every
    few seconds.

    A young pass comes after 10,000 more container objects instead of 700. A
    consumer batch (up to 500 messages, each with its event, headers and
    bookkeeping) outlives 700 allocations, so with Kafka every batch was
    collected young and promoted, feeding the middle and full passes: ~700 young
    passes per run, up to 25 ms each. With 10,000 the batch is freed by reference
    counting first and the same runs had no pass at all (docs/BENCHMARKS.md,
    "Young collections"). During a connection storm, when objects do live on, a
    young pass walks at most 10,000 objects.
    """
    import gc

    gc.freeze()
    _, middle, _ = gc.get_threshold()
    gc.set_threshold(10_000, middle, 100)


def child_exit(server, worker):
    """Drop a dead worker's live gauges (its sockets are gone); its counters stay counted."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _made_metrics_folder:
        shutil.rmtree(_made_metrics_folder, ignore_errors=True)


def worker_exit(server, worker):
    node = _node_of(worker)
    if node is not None:
        node.stop()
