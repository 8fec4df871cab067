"""Secrets stay secret: nothing a client sends as a credential ends up in the logs,
readable or JSON."""

import json

import pytest

from tests.support.clients import Api
from tests.support.processes import HeraldProcess

SECRET = "logs-must-never-show-this-secret-0123456789"


METRICS_TOKEN = "metrics-token-never-logged-0123456789"


@pytest.mark.slow
@pytest.mark.parametrize("log_format", ["text", "json"])
def test_tokens_passwords_and_the_signing_key_are_not_logged(
    mongodb_uri, sockets, log_format, tmp_path
):
    herald = HeraldProcess(
        {
            "HERALD_ENV": "production",
            "MONGODB_URI": mongodb_uri,
            "BROKER_URL": "memory://",
            "JWT_SECRET_KEY": SECRET,
            "ACCESS_LOG": "-",  # the access log on, into the process log
            "LOG_LEVEL": "debug",
            "LOG_FORMAT": log_format,
            "METRICS_TOKEN": METRICS_TOKEN,
        },
        log_path=tmp_path / "herald.log",  # its own: a port's old log holds other lines
    ).start()
    try:
        api = Api(herald.url)
        alice = api.register("alice", password="a-password-never-logged")
        api.post("/api/login", json={"username": alice.username, "password": "wrong-password-x"})
        socket_ = sockets(herald.url, alice)  # the token in the query string
        assert socket_.receive_type("ready") is not None
        socket_.close()
        api.post("/api/token/refresh", headers={"Authorization": f"Bearer {alice.refresh_token}"})
        assert api.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).ok
        api.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}-wrong"})
    finally:
        herald.stop()
    log = herald.log_path.read_text()
    assert "GET /ws" in log, "the access log was not written"
    if log_format == "json":
        records = [json.loads(line) for line in log.splitlines() if line.strip()]
        assert any(r["logger"] == "gunicorn.access" for r in records)
    for secret in (
        METRICS_TOKEN,
        SECRET,
        alice.access_token,
        alice.refresh_token,
        "a-password-never-logged",
        "wrong-password-x",
    ):
        assert secret not in log
