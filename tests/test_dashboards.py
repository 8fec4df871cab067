"""Prometheus's config and Grafana's dashboard (deploy/), checked against what Herald exports.

- deploy/prometheus/prometheus.yml goes through the real promtool
  (`scripts/promtool.sh`, built from the Go module proxy), and its structure
  is read with PyYAML.
- Grafana's provisioning points at that Prometheus and loads the dashboard.
- Every PromQL expression of the dashboard is read (tests/support/promql.py,
  and promtool's own parser through `promtool check rules`): each metric it
  names is one a running Herald exports in a live scrape, counters and
  histogram buckets are read through rate() or increase(), gauges are not, and
  each histogram_quantile() keeps `le`, and each label it selects on or keeps
  is one of those metrics' (as prometheus.yml relabels them). Every herald_*
  metric is on the dashboard.
- What Herald exports passes `promtool check metrics`, Prometheus's lint.

How compose mounts these files is checked in tests/test_docker.py.
"""

import json
import subprocess
from typing import NamedTuple

import pytest
import requests
import yaml
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.parser import text_string_to_metric_families

from app import metrics
from tests.support.promql import read
from tests.support.services import ROOT

DEPLOY = ROOT / "deploy"
PROMETHEUS_CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
DATASOURCES = DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
PROVIDERS = DEPLOY / "grafana" / "provisioning" / "dashboards" / "herald.yml"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "herald.json"

# Series Prometheus makes itself for every target, not Herald's, and the labels it adds.
PROMETHEUS_SERIES = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}
TARGET_LABELS = frozenset({"instance", "job"})
# Suffixes of the samples of each type, as Prometheus stores them.
SAMPLE_SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_count", "_sum"),
    "summary": ("", "_count", "_sum"),
    "gauge": ("",),
}
RATE_FUNCTIONS = {"rate", "irate", "increase"}
GRAFANA_RANGE = "$__rate_interval"


def load_yaml(path):
    return yaml.safe_load(path.read_text())


def dashboard_expressions():
    """[(panel title, expr)] of every query of every panel."""
    dashboard = json.loads(DASHBOARD.read_text())
    found = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            found.append((panel["title"], target["expr"]))
    return found


class Series(NamedTuple):
    kind: str  # counter, gauge, histogram...
    labels: frozenset  # as Prometheus stores them, with the target's and the relabelled


def declared_labels():
    """{family name: label names} as app.metrics declares them (a family may have no sample yet)."""
    return {
        collector._name: set(collector._labelnames)
        for collector in vars(metrics).values()
        if isinstance(collector, MetricWrapperBase)
    }


def relabelled_instance():
    """What prometheus.yml calls a metric's own `instance` label (it clashes with the target's)."""
    (job,) = load_yaml(PROMETHEUS_CONFIG)["scrape_configs"]
    (rule,) = [
        r
        for r in job["metric_relabel_configs"]
        if "exported_instance" in r.get("source_labels", [])
    ]
    return rule["target_label"]


def exported_series(metrics_text):
    """{sample name as Prometheus stores it: Series} of Herald's families in a scrape."""
    families = {
        family.name: family
        for family in text_string_to_metric_families(metrics_text)
        # The process's own (python_gc_*) are not there under gunicorn.
        if family.name.startswith("herald_")
    }
    declared, renamed = declared_labels(), relabelled_instance()
    series = {}
    for name, family in families.items():
        if name.endswith("_created") and name.removesuffix("_created") in families:
            continue  # a counter's creation time, which the text parser calls a gauge of its own
        labels = declared.get(name, set()).union(*(sample.labels for sample in family.samples))
        labels = {renamed if label == "instance" else label for label in labels}
        for suffix in SAMPLE_SUFFIXES.get(family.type, ("",)):
            extra = {"le"} if suffix == "_bucket" else set()
            series[name + suffix] = Series(family.type, frozenset(labels | extra | TARGET_LABELS))
    return series


def misread_metrics(expr, series):
    """What is wrong with the metrics `expr` reads, given Herald's `series`."""
    problems, labels = [], set(TARGET_LABELS)
    reading = read(expr)
    for name, function in reading.metrics:
        if name in PROMETHEUS_SERIES:
            continue
        kind, labels_of_name = series.get(name, (None, frozenset()))
        labels |= labels_of_name
        if kind is None:
            problems.append(f"{name} is not exported by Herald")
        elif kind in ("counter", "histogram") and function not in RATE_FUNCTIONS:
            problems.append(f"{name} ({kind}) is read without rate() or increase()")
        elif kind == "gauge" and function in RATE_FUNCTIONS:
            problems.append(f"{name} (gauge) is read with {function}()")
    if "histogram_quantile" in reading.functions:
        if not all(name.endswith("_bucket") for name in reading.names):
            problems.append("histogram_quantile() over something else than _bucket series")
        if not reading.groupings or any("le" not in kept for _, kept in reading.groupings):
            problems.append("histogram_quantile() over an aggregation that drops `le`")
    problems += [f"label {label} is on none of its metrics" for label in reading.labels - labels]
    return problems


@pytest.fixture(scope="module")
def promtool(promtool_build):
    """Runs promtool (built once under .cache/bin, from the session's start)."""
    promtool_build.wait(timeout=1200)

    def run(*args, stdin=""):
        result = subprocess.run(
            ["bash", str(ROOT / "scripts" / "promtool.sh"), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout + result.stderr

    return run


@pytest.fixture
def metrics_text(own_server):
    """/metrics of a running Herald that has served a request."""
    live = own_server(METRICS_PUBLIC=True)
    requests.get(live.url + "/no-such-page", timeout=10)
    response = requests.get(live.url + "/metrics", timeout=15)
    assert response.status_code == 200, response.text
    return response.text


@pytest.fixture
def scraped(metrics_text):
    """{series: type} of that scrape."""
    return exported_series(metrics_text)


# ---- Prometheus ---------------------------------------------------------------------


def test_prometheus_config_passes_promtool(promtool):
    # --syntax-only: the token file exists only inside the container (a compose secret).
    output = promtool("check", "config", "--syntax-only", str(PROMETHEUS_CONFIG))
    assert "SUCCESS" in output


def test_prometheus_scrapes_herald_with_the_metrics_token_file():
    config = load_yaml(PROMETHEUS_CONFIG)
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "herald"]
    assert job.get("metrics_path", "/metrics") == "/metrics"
    assert job["authorization"] == {
        "type": "Bearer",
        "credentials_file": "/run/secrets/metrics_token",
    }
    targets = [target for group in job["static_configs"] for target in group["targets"]]
    assert targets == ["herald:8000"]
    # The lag's own `instance` label comes out as herald_instance (the dashboard's grouping).
    relabels = job["metric_relabel_configs"]
    assert any(
        rule.get("source_labels") == ["exported_instance"]
        and rule.get("target_label") == "herald_instance"
        for rule in relabels
    )
    dropped = [rule["regex"] for rule in relabels if rule.get("action") == "labeldrop"]
    assert dropped == ["exported_instance"]


# ---- Grafana ---------------------------------------------------------------------


def test_grafana_reads_prometheus_and_loads_the_dashboard():
    (source,) = load_yaml(DATASOURCES)["datasources"]
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090"
    (provider,) = load_yaml(PROVIDERS)["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "/etc/grafana/dashboards"

    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "herald"
    panels = dashboard["panels"]
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    cells = [cell for panel in panels for cell in grid_cells(panel)]
    assert len(cells) == len(set(cells)), "panels overlap"
    for panel in panels:
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": source["uid"]}, panel["title"]
        assert panel["targets"], panel["title"]
        assert all(t["datasource"]["uid"] == source["uid"] for t in panel["targets"])


def grid_cells(panel):
    """The cells of Grafana's 24-column grid a panel covers."""
    place = panel["gridPos"]
    assert place["x"] + place["w"] <= 24, panel["title"]
    return [
        (x, y)
        for x in range(place["x"], place["x"] + place["w"])
        for y in range(place["y"], place["y"] + place["h"])
    ]


# ---- the dashboard's queries -------------------------------------------------------


def test_every_dashboard_query_reads_metrics_herald_exports(scraped):
    assert "herald_http_requests_total" in scraped  # the scrape is Herald's
    problems = {}
    for title, expr in dashboard_expressions():
        found = misread_metrics(expr, scraped)
        if found:
            problems[f"{title}: {expr}"] = found
    assert not problems, json.dumps(problems, indent=2)


def test_every_herald_metric_is_on_the_dashboard(scraped):
    read_by_dashboard = set()
    for _, expr in dashboard_expressions():
        read_by_dashboard |= read(expr).names
    families = {name for name in scraped if not name.endswith(("_count", "_sum"))}
    missing = sorted(name for name in families if name not in read_by_dashboard)
    assert not missing, f"on no panel: {missing}"


@pytest.mark.parametrize(
    ("expr", "problem"),
    [
        ("sum(rate(herald_notifications_sent_total[5m]))", "is not exported"),
        ("sum(rate(herald_frames_sent[5m]))", "is not exported"),  # stored as _total
        ("sum(herald_frames_sent_total)", "without rate()"),
        ("sum by (rout) (rate(herald_http_requests_total[5m]))", "label rout is on none"),
        ('herald_consumer_lag{exported_instance="a"}', "label exported_instance is on none"),
        ("sum by (reason) (rate(herald_rate_limited_total[5m]))", "label reason is on none"),
        ("rate(herald_sockets_open[5m])", "(gauge) is read with rate()"),
        (
            "histogram_quantile(0.99, sum by (route) "
            "(rate(herald_http_request_duration_seconds_bucket[5m])))",
            "drops `le`",
        ),
        (
            "histogram_quantile(0.5, rate(herald_http_request_duration_seconds_count[5m]))",
            "else than _bucket",
        ),
    ],
)
def test_the_check_refuses_what_would_draw_nothing_or_nonsense(scraped, expr, problem):
    assert any(problem in found for found in misread_metrics(expr, scraped))


def test_the_reader_refuses_what_it_cannot_read():
    for expr in ("sum(rate(herald_frames_sent_total[5m])", "summ(herald_sockets_open)", "$x"):
        with pytest.raises(ValueError):
            read(expr)


def test_herald_metrics_pass_promtools_lint(promtool, metrics_text):
    """Prometheus's naming and exposition rules (units, _total, help), on a live scrape."""
    promtool("check", "metrics", stdin=metrics_text)


def test_promtool_parses_every_dashboard_query(promtool, tmp_path):
    """Each query as a recording rule: `promtool check rules` parses it with Prometheus's parser."""
    rules = [
        {"record": f"herald_dashboard:query_{n}", "expr": expr.replace(GRAFANA_RANGE, "5m")}
        for n, (_, expr) in enumerate(dashboard_expressions())
    ]
    path = tmp_path / "dashboard-rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    output = promtool("check", "rules", str(path))
    assert f"{len(rules)} rules found" in output
