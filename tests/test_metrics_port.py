"""METRICS_PORT: /metrics on a port of its own under gunicorn, and only there.

Herald runs as gunicorn runs it in production (tests.support.processes), and
both of its ports are asked for real: the metrics port answers /metrics to
anyone, with the figures read at scrape time too, and nothing else; the main
port no longer answers /metrics, not even to the token or a forged Host header.
"""

import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.support.processes import HeraldProcess, herald_env
from tests.support.services import free_port

METRICS_TOKEN = "metrics-port-test-token-0123456789"


def samples_of(text):
    """{(name, labels as a sorted tuple): value} of a scrape's text."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_the_metrics_port_serves_metrics_to_anyone_and_nothing_else(mongodb_uri):
    port = free_port()
    env = herald_env(mongodb_uri, METRICS_PORT=str(port), METRICS_TOKEN=METRICS_TOKEN)
    with HeraldProcess(env).start(timeout=60) as herald:
        metrics_url = f"http://127.0.0.1:{port}"
        assert requests.get(herald.url + "/healthz", timeout=10).status_code == 200

        scraped = requests.get(metrics_url + "/metrics", timeout=15)
        assert scraped.status_code == 200, scraped.text
        samples = samples_of(scraped.text)
        healthz = (("method", "GET"), ("route", "/healthz"), ("status", "200"))
        assert samples[("herald_http_requests_total", healthz)] >= 1
        # The scrape-time figures come too: the worker that answers has the app.
        assert samples[("herald_database_up", ())] == 1
        assert ("herald_outbox_entries", ()) in samples

        for path in ("/healthz", "/api/notifications", "/"):
            assert requests.get(metrics_url + path, timeout=10).status_code == 404, path

        token = {"Authorization": f"Bearer {METRICS_TOKEN}"}
        forged = {**token, "Host": f"127.0.0.1:{port}"}
        for headers in (token, forged):
            refused = requests.get(herald.url + "/metrics", headers=headers, timeout=10)
            assert refused.status_code == 404
            assert set(refused.json()) == {"code", "status", "message", "errors"}
            assert "herald_" not in refused.text
