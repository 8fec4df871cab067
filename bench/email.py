"""The email channel: emails per second to a local SMTP server (Mailpit), digests on and off,
and socket delivery latency while the SMTP server is saturated or down.

    .venv/bin/python -m bench.email            # memory broker, one gunicorn worker

Throughput: `--users` offline users each get `--rounds` broadcasts; the
worker's email sender (CHANNELS_ENABLED) mails them through Mailpit. Reported:
notifications emailed per second and emails per second from the first
broadcast until every delivery is `sent`, with EMAIL_DIGEST_WINDOW 0 (each due
notification goes at once; what is due together still shares an email) and
with a digest window (one email per user).

Latency: `--sockets` users with a socket open each get `--probes` notifications,
one at a time; the time from the POST to the frame on the socket is measured
with the channels off (baseline), while the sender works through a backlog of
emails (saturated), and with SMTP_URL naming a port nobody listens on (down,
every send fails and is retried). The email channel reads its own consumer
group, so the three should match.
"""

import argparse
import json
import threading
import time

import pymongo
import requests
import websocket

from bench import harness
from bench.harness import Stack, log, start_herald
from tests.channels.mailpit import Mailpit
from tests.support.services import free_port, run_script


def _sent_count(mongodb_uri):
    with pymongo.MongoClient(mongodb_uri) as client:
        return client.get_default_database()["deliveries"].count_documents(
            {"channel": "email", "status": {"$in": ["sent", "skipped", "dead"]}}
        )


def _clear_deliveries(mongodb_uri):
    with pymongo.MongoClient(mongodb_uri) as client:
        client.get_default_database()["deliveries"].delete_many({})


def _mailpit_total(mailpit):
    return requests.get(mailpit.api + "/messages", params={"limit": 1}, timeout=10).json()["total"]


def _broadcast(base_url, token, user_ids, text):
    response = requests.post(
        base_url + "/api/notifications/broadcast",
        json={"userIds": user_ids, "message": text},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    response.raise_for_status()


def throughput(args, mongodb_uri, mailpit, window):
    user_ids = harness.create_users(mongodb_uri, args.users, prefix="mail")
    _clear_deliveries(mongodb_uri)
    env = {
        "CHANNELS_ENABLED": "true",
        "SMTP_URL": mailpit.smtp_url,
        "EMAIL_DIGEST_WINDOW": str(window),
        "EMAIL_POLL_INTERVAL": "0.2",
        "BROADCAST_MAX_RECIPIENTS": str(args.users),
    }
    with start_herald(mongodb_uri=mongodb_uri, broker_url="memory://", extra_env=env) as server:
        token = harness.admin_token(server.url)
        emails_before = _mailpit_total(mailpit)
        started = time.monotonic()
        for n in range(args.rounds):
            _broadcast(server.url, token, user_ids, f"round {n}: something happened")
        expected = args.users * args.rounds
        deadline = started + args.timeout
        while _sent_count(mongodb_uri) < expected and time.monotonic() < deadline:
            time.sleep(0.2)
        elapsed = time.monotonic() - started
        done = _sent_count(mongodb_uri)
        emails = _mailpit_total(mailpit) - emails_before
    result = {
        "digest_window_s": window,
        "users": args.users,
        "notifications": expected,
        "notifications_emailed": done,
        "emails": emails,
        "seconds": round(elapsed, 2),
        "notifications_per_second": round(done / elapsed, 1),
        "emails_per_second": round(emails / elapsed, 1),
        "loadavg": harness.loadavg(),
    }
    log(f"throughput: {result}")
    return result


def _probe(server, sender_token, tokens, user_ids, probes):
    """Send `probes` notifications to each socket, one at a time; POST-to-frame in ms."""
    sockets = []
    for token in tokens:
        ws = websocket.create_connection(
            f"ws://127.0.0.1:{server.port}/ws?token={token}", timeout=30
        )
        while json.loads(ws.recv())["type"] != "ready":
            pass
        sockets.append(ws)
    latencies = []
    try:
        for _ in range(probes):
            for ws, user_id in zip(sockets, user_ids, strict=True):
                started = time.monotonic()
                response = requests.post(
                    server.url + "/api/notifications",
                    json={"userId": user_id, "message": "probe"},
                    headers={"Authorization": f"Bearer {sender_token}"},
                    timeout=30,
                )
                response.raise_for_status()
                while json.loads(ws.recv()).get("type") != "notification":
                    pass
                latencies.append((time.monotonic() - started) * 1000)
    finally:
        for ws in sockets:
            ws.close()
    return harness.percentiles(latencies)


def latency(args, mongodb_uri, mailpit, condition):
    online = harness.create_users(mongodb_uri, args.sockets + 1, prefix="sock")
    tokens = harness.mint_tokens(online)
    env = {"CHANNELS_ENABLED": "false"}
    if condition != "baseline":
        smtp = mailpit.smtp_url if condition == "saturated" else f"smtp://127.0.0.1:{free_port()}"
        env = {
            "CHANNELS_ENABLED": "true",
            "SMTP_URL": smtp,
            "EMAIL_DIGEST_WINDOW": "0",
            "EMAIL_DELAY": "3600",  # the probes' recipients are online: only the backlog mails
            "EMAIL_POLL_INTERVAL": "0.2",
            "EMAIL_RETRY_BASE_DELAY": "0.5",
            "SMTP_TIMEOUT": "5",
            "BROADCAST_MAX_RECIPIENTS": str(args.backlog),
        }
    with start_herald(mongodb_uri=mongodb_uri, broker_url="memory://", extra_env=env) as server:
        if condition != "baseline":  # a backlog of offline recipients keeps the sender busy
            offline = harness.create_users(mongodb_uri, args.backlog, prefix="back")
            _broadcast(server.url, harness.admin_token(server.url), offline, "backlog")
            time.sleep(1.0)
        result = _probe(server, tokens[0], tokens[1:], online[1:], args.probes)
    log(f"latency {condition}: {result}")
    return {"condition": condition, "socket_latency_ms": result}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3, help="broadcasts to every user")
    parser.add_argument("--window", type=float, default=5.0, help="the digest run's window")
    parser.add_argument("--sockets", type=int, default=20)
    parser.add_argument("--probes", type=int, default=10, help="notifications per socket")
    parser.add_argument("--backlog", type=int, default=500, help="emails queued meanwhile")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    harness.raise_nofile()
    run_script("mailpit.sh", "install", timeout=900)
    mailpit = Mailpit().start()
    try:
        with harness.deadline(4 * args.timeout + 300):
            stack = Stack()
            with stack:
                mongodb_uri = stack.mongodb()
                runs = [throughput(args, mongodb_uri, mailpit, 0.0)]
                runs.append(throughput(args, mongodb_uri, mailpit, args.window))
                conditions = [
                    latency(args, mongodb_uri, mailpit, name)
                    for name in ("baseline", "saturated", "down")
                ]
                info = {k: v for k, v in stack.info.items() if not k.startswith("_")}
                info["broker"] = "memory:// (in-process)"
                info["smtp"] = "Mailpit v1.33.1 (scripts/mailpit.sh), on this machine"
            doc = {
                "parameters": vars(args),
                "result": {"throughput": runs, "latency": conditions},
            }
            harness.save_result("email", doc, info)
    finally:
        mailpit.stop()


if __name__ == "__main__":
    threading.excepthook = lambda hook: log(f"thread failed: {hook.exc_value!r}")
    main()
