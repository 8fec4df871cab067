"""`make run`'s script: serves Herald on the embedded store, and a restart keeps the data
(and the VAPID key it made for Web Push)."""

import os
import signal
import subprocess

import requests

from tests.support.clients import Api, wait_until
from tests.support.services import ROOT, free_port


def start_run_script(port, store_port, store_dir, log, mail_ports):
    env = {
        **os.environ,
        "PORT": str(port),
        "STORE_PORT": str(store_port),
        "STORE_DIR": str(store_dir),
        "VAPID_KEY_FILE": str(store_dir.parent / "vapid-private-key"),
        "MAILPIT_SMTP_PORT": str(mail_ports[0]),
        "MAILPIT_UI_PORT": str(mail_ports[1]),
        "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}",
    }
    for name in ("MONGODB_URI", "BROKER_URL", "HERALD_ENV"):
        env.pop(name, None)
    process = subprocess.Popen(
        ["bash", "scripts/run.sh"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"

    def ready():
        try:
            return requests.get(url + "/readyz", timeout=2).status_code == 200
        except requests.RequestException:
            return process.poll() is not None

    assert wait_until(ready, 120) and process.poll() is None, "run.sh did not serve Herald"
    return process, Api(url)


def emails_to(ui_port, address):
    try:
        answer = requests.get(f"http://127.0.0.1:{ui_port}/api/v1/messages", timeout=2).json()
    except (requests.RequestException, ValueError):
        return []
    return [m for m in answer["messages"] if address in (to["Address"] for to in m["To"])]


def stop(process):
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(60)


def test_run_serves_herald_and_a_restart_keeps_users_and_notifications(tmp_path):
    port, store_port, store_dir = free_port(), free_port(), tmp_path / "store"
    mail_ports = (free_port(), free_port())
    with open(tmp_path / "run.log", "wb") as log:
        process, api = start_run_script(port, store_port, store_dir, log, mail_ports)
        try:
            alice, bob = api.register("alice"), api.register("bob")
            sent = api.notify(alice, bob, "still here after a restart")
            push_key = api.get("/api/push/vapid-public-key").json()["publicKey"]
            # Bob is offline: the email reaches the Mailpit that run.sh started.
            assert wait_until(lambda: emails_to(mail_ports[1], bob.email), 60), "no email"
        finally:
            stop(process)
        assert (
            subprocess.run(
                ["bash", "scripts/ferretdb.sh", "status", "--port", str(store_port)],
                cwd=ROOT,
                capture_output=True,
            ).returncode
            != 0
        ), "run.sh left its store running"

        process, api = start_run_script(port, store_port, store_dir, log, mail_ports)
        try:
            again = api.login(bob.id, bob.username, bob.email, bob.password)
            items = api.get("/api/notifications", account=again).json()["items"]
            assert [n["id"] for n in items] == [sent["id"]]
            # The VAPID key made on the first run is kept: subscriptions stay valid.
            assert api.get("/api/push/vapid-public-key").json()["publicKey"] == push_key
        finally:
            stop(process)
