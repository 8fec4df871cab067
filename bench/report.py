"""Regenerate the result tables of docs/BENCHMARKS.md from bench/results/latest-*.json.

    .venv/bin/python -m bench.report      # what `make docs` runs

Only the text between the `<!-- bench:tables -->` markers is replaced; the
prose around it is kept. The benchmarks only write their results: the document
changes when this runs, never as a side effect of a benchmark.
"""

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
DOC = ROOT / "docs" / "BENCHMARKS.md"
START, END = "<!-- bench:tables:start -->", "<!-- bench:tables:end -->"


def _load(name):
    path = RESULTS / f"latest-{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _env(doc):
    m, s = doc["machine"], doc.get("services", {})
    return (
        f"_{doc['finished_at']}, git {doc['git']}; {m['cores']} cores, {m['memory_gib']} GiB, "
        f"{m['cpu']}; Python {m['python']}; database: {s.get('database', '?')}; "
        f"broker: {s.get('broker', '?')}._"
    )


def _row(cells):
    return "| " + " | ".join("—" if c is None else str(c) for c in cells) + " |"


def _table(header, rows):
    return [_row(header), _row(["---"] * len(header)), *(_row(r) for r in rows)]


def capacity():
    doc = _load("capacity")
    if not doc:
        return ["_No capacity result yet._"]
    rows = []
    for label, key in (("bare flask-sock", "bare_flask_sock"), ("Herald", "herald")):
        r = doc.get(key)
        if not r:
            continue
        who = "no auth" if key != "herald" else f"{r['users']} users, {r['sockets_per_user']}/user"
        rows.append(
            [
                label,
                who,
                f"{r['sockets_held']:,} / {r['sockets_requested']:,}",
                sum(r["connect_errors"].values()),
                r["connects_per_second"],
                f"{r['worker_rss_before_kib'] / 1024:.0f} → {r['worker_rss_after_kib'] / 1024:.0f}",
                f"**{r['rss_per_socket_kib']}**",
                r["loadavg"][0],
            ]
        )
    header = [
        "app",
        "sockets",
        "held / asked",
        "errors",
        "connects/s",
        "worker RSS MiB",
        "KiB/socket",
        "load 1m",
    ]
    return [_env(doc), "", *_table(header, rows)]


def fanout(sockets_per_user=1):
    """The fan-out tables of one sockets-per-user setting (1: every delivery its own message)."""
    suffix = f"-{sockets_per_user}-per-user" if sockets_per_user > 1 else ""
    lines = []
    header = [
        "broker",
        "publisher",
        "offered/s",
        "published/s",
        "delivered/s",
        "delivered",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "max ms",
        "worker CPU",
        "worker CPU µs/delivery",
        "load 1m",
    ]
    for broker in ("memory", "kafka", "rabbitmq"):
        doc = _load(f"fanout-{broker}{suffix}")
        if not doc:
            lines += [f"_No fan-out result for {broker} yet._", ""]
            continue
        steps = doc["steps"]
        cpu_s = sum(x["worker_cpu_us_per_delivery"] * max(x["delivered"], 1) / 1e6 for x in steps)
        delivered = sum(x["delivered"] for x in steps)
        overall = (
            f"; over all steps the worker spent {cpu_s:.1f} CPU-s on {delivered:,} deliveries "
            f"= **{1e6 * cpu_s / max(delivered, 1):.0f} µs per delivery** "
            f"(≈ {delivered / max(cpu_s, 1e-9):,.0f}/s on a full core)"
        )
        rows = [
            [
                broker,
                doc["publisher"],
                s["offered_per_second"],
                s.get("published_per_second"),
                f"**{s['delivered_per_second']}**",
                f"{s['delivered']:,} / {s['expected']:,}",
                s["latency_ms"]["p50"],
                s["latency_ms"]["p95"],
                f"**{s['latency_ms']['p99']}**"
                if s["delivered"]
                else "not delivered before the end",
                s["latency_ms"].get("max"),
                f"{s['worker_cpu_percent']}%",
                s.get("worker_cpu_us_per_delivery") if s["delivered"] else None,
                s["loadavg"][0],
            ]
            for s in steps
        ]
        lines += [
            f"**{broker}**: {doc['summary']}{overall}",
            "",
            _env(doc),
            "",
            *_table(header, rows),
            "",
        ]
    return lines


def e2e_rows(doc, label):
    r = doc["result"]
    return [
        label,
        doc["workers"],
        doc["parameters"]["clients"],
        r["created"],
        f"**{r['created_per_second']}**",
        r["received"],
        r["latency_ms"]["p50"],
        r["latency_ms"]["p95"],
        f"**{r['latency_ms']['p99']}**",
        r["http_ms"]["p50"],
        (r.get("stored_to_receipt_ms") or {}).get("p50"),
        r["http_errors"],
        f"{r['worker_cpu_percent_total']}%",
        r.get("worker_cpu_ms_per_notification"),
        f"{r.get('database_cpu_percent')}%",
        r["loadavg"][0],
    ]


E2E_HEADER = [
    "broker",
    "workers",
    "HTTP clients",
    "created",
    "created/s",
    "received",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "POST p50 ms",
    "stored→receipt p50 ms",
    "HTTP errors",
    "worker CPU",
    "worker CPU ms/notification",
    "FerretDB CPU",
    "load 1m",
]


def e2e():
    lines = []
    for broker in ("memory", "kafka", "rabbitmq"):
        doc = _load(f"e2e-{broker}")
        if not doc:
            lines += [f"_No end-to-end result for {broker} yet._", ""]
            continue
        lines += [_env(doc), "", *_table(E2E_HEADER, [e2e_rows(doc, broker)]), ""]
    return lines


def scaling():
    lines = []
    for broker in ("kafka", "rabbitmq"):
        doc = _load(f"scaling-{broker}")
        if not doc:
            lines += [f"_No scaling result for {broker} yet._", ""]
            continue
        rows = [e2e_rows(run, broker) for run in doc["runs"]]
        lines += [_env(doc), "", *_table(E2E_HEADER, rows), ""]
    return lines


CONVERSATIONS_HEADER = [
    "broker",
    "pairs",
    "senders",
    "sent",
    "messages/s",
    "received",
    "send→receipt p50 ms",
    "p95 ms",
    "p99 ms",
    "POST p50 ms",
    "HTTP errors",
    "worker CPU ms/message",
    "FerretDB CPU ms/message",
    "load 1m",
]


def conversations():
    lines = []
    for broker in ("memory", "kafka", "rabbitmq"):
        doc = _load(f"conversations-{broker}")
        if not doc:
            lines += [f"_No conversations result for {broker} yet._", ""]
            continue
        r, p = doc["result"], doc["parameters"]
        row = [
            broker,
            p["pairs"],
            p["clients"],
            r["sent"],
            f"**{r['messages_per_second']}**",
            r["received_by_recipient"],
            r["send_to_receipt_ms"]["p50"],
            r["send_to_receipt_ms"]["p95"],
            f"**{r['send_to_receipt_ms']['p99']}**",
            r["http_ms"]["p50"],
            r["http_errors"],
            r["worker_cpu_ms_per_message"],
            r["database_cpu_ms_per_message"],
            r["loadavg"][0],
        ]
        lines += [_env(doc), "", *_table(CONVERSATIONS_HEADER, [row]), ""]
    return lines


STORES = ("sqlite", "postgresql")  # FerretDB's backends (bench --store)
AUDIENCE_HEADER = [
    "broker",
    "store",
    "subscribers",
    "connected",
    "last inbox write s",
    "last handed to broker s",
    "live frames",
    "last live frame s",
    "worker RSS before → peak MiB",
]


def audience():
    lines = []
    for broker, store in [(b, s) for b in ("memory", "kafka", "rabbitmq") for s in STORES]:
        doc = _load(f"audience-{broker}" + ("" if store == "sqlite" else f"-{store}"))
        if not doc:
            if store == "sqlite":
                lines += [f"_No audience result for {broker} yet._", ""]
            continue
        rows = [
            [
                broker,
                store,
                f"{r['subscribers']:,}",
                r["connected"],
                r["seconds_to_last_inbox_write"],
                r["seconds_to_last_handed_to_broker"],
                r["live_received"],
                r["seconds_to_last_live_frame"],
                f"{r['worker_rss_before_mib']} → {r['worker_rss_peak_mib']}",
            ]
            for r in doc["results"]
        ]
        lines += [_env(doc), "", *_table(AUDIENCE_HEADER, rows), ""]
    return lines


SATURATION_HEADER = [
    "broker",
    "store",
    "POST/s",
    "create → socket p50 / p95 / p99 ms",
    "lost / dup / misrouted",
    "worker CPU ms/notif.",
    "store CPU ms/notif.",
    "database commands/notif. (background)",
]


def saturation():
    lines, runs = [], []
    for broker in ("memory", "kafka", "rabbitmq"):
        for store in STORES:
            doc = _load(f"saturation-{broker}" + ("" if store == "sqlite" else f"-{store}"))
            if not doc:
                lines += [f"_No saturation result for {broker} on {store} yet._", ""]
                continue
            r, latency = doc["result"], doc["result"]["create_to_socket_ms"]
            row = [
                broker,
                store,
                f"**{r['posts_per_second']}**",
                f"{latency['p50']} / {latency['p95']} / **{latency['p99']}**",
                f"{r['lost']} / {r['duplicated']} / {r['misrouted']}",
                f"**{r['worker_cpu_ms_per_notification']}**",
                r["database_cpu_ms_per_notification"],
                f"**{r['database_commands_per_notification']}** "
                f"({r['background_commands_per_notification']})",
            ]
            lines += [_env(doc), "", *_table(SATURATION_HEADER, [row]), ""]
            runs.append((f"{broker}/{store}", r))
    if runs:
        names = sorted({k for _, r in runs for k in r["database_commands_by_kind"]})
        rows = [
            [
                name,
                *(
                    f"{r['database_commands_by_kind'].get(name, 0)} "
                    f"({r['background_commands_by_kind'].get(name, 0)})"
                    for _, r in runs
                ),
            ]
            for name in names
        ]
        lines += [
            "Database commands per notification by kind, in brackets what the background "
            "loops send in the same time when idle:",
            "",
            *_table(["command", *(label for label, _ in runs)], rows),
            "",
        ]
    return lines


EMAIL_THROUGHPUT_HEADER = [
    "digest window",
    "users x broadcasts",
    "notifications emailed",
    "emails",
    "seconds",
    "notifications/s",
    "**emails/s**",
]
EMAIL_LATENCY_HEADER = ["SMTP while probing", "p50 ms", "p95 ms", "p99 ms"]
EMAIL_CONDITIONS = {
    "baseline": "channels off (baseline)",
    "saturated": "sender busy with a backlog",
    "down": "SMTP server down (every send fails, retried)",
}


def email():
    doc = _load("email")
    if not doc:
        return ["_No email result yet._"]
    runs, probes = doc["result"]["throughput"], doc["result"]["latency"]
    throughput = [
        [
            f"{r['digest_window_s']:g} s",
            f"{r['users']} x {r['notifications'] // max(r['users'], 1)}",
            f"{r['notifications_emailed']:,} / {r['notifications']:,}",
            f"{r['emails']:,}",
            r["seconds"],
            r["notifications_per_second"],
            f"**{r['emails_per_second']}**",
        ]
        for r in runs
    ]
    latency = [
        [EMAIL_CONDITIONS.get(p["condition"], p["condition"])]
        + [p["socket_latency_ms"].get(k) for k in ("p50", "p95", "p99")]
        for p in probes
    ]
    return [
        _env(doc),
        "",
        *_table(EMAIL_THROUGHPUT_HEADER, throughput),
        "",
        "Socket delivery (POST → frame) meanwhile:",
        "",
        *_table(EMAIL_LATENCY_HEADER, latency),
        "",
    ]


def fanout_sockets_per_user_settings():
    """The K > 1 of every `latest-fanout-<broker>-<K>-per-user.json`, ascending."""
    found = {int(p.name.split("-")[-3]) for p in RESULTS.glob("latest-fanout-*-per-user.json")}
    return sorted(found)


def regenerate():
    shared_sockets = [
        line
        for k in fanout_sockets_per_user_settings()
        for line in (
            f"### Fan-out, {k} sockets per user (broker → 1,000 sockets of {1000 // k} users)",
            "",
            f"Each broker message is {k} deliveries, so the broker carries 1/{k} of the "
            "delivery rate; `offered/s` and `delivered/s` count deliveries, `published/s` "
            "broker messages.",
            "",
            *fanout(k),
        )
    ]
    sections = [
        "### Capacity (one gevent worker)",
        "",
        *capacity(),
        "",
        "### Fan-out (broker → 1,000 sockets, one worker)",
        "",
        *fanout(),
        *shared_sockets,
        "### End to end (POST /api/notifications → WebSocket)",
        "",
        *e2e(),
        "### Scaling with gunicorn workers (end to end)",
        "",
        *scaling(),
        "### Direct messages (POST /api/conversations/<id>/messages → the recipient's socket)",
        "",
        *conversations(),
        "### One notification to a topic (fan-out to every subscriber)",
        "",
        *audience(),
        "### Saturation: 2,000 notifications from 20 senders to 100 sockets (issue 20)",
        "",
        *saturation(),
        "### Email (the email channel → Mailpit; socket latency meanwhile)",
        "",
        *email(),
    ]
    text = DOC.read_text() if DOC.exists() else f"# Benchmarks\n\n{START}\n{END}\n"
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(head + START + "\n" + "\n".join(sections).rstrip() + "\n" + END + tail)


if __name__ == "__main__":
    regenerate()
    print("docs/BENCHMARKS.md: tables rebuilt from bench/results/latest-*.json.")
