"""Structured logs: the request id, and one notification followed through the JSON logs
of two instances."""

import json
import uuid

import pytest

from tests.support.clients import Api, wait_until
from tests.support.processes import HeraldProcess, herald_env


def test_a_request_without_an_id_gets_one_in_the_response(api):
    first, second = api.get("/healthz"), api.get("/healthz")
    ids = {first.headers["X-Request-ID"], second.headers["X-Request-ID"]}
    assert len(ids) == 2 and all(len(i) == 32 for i in ids)


def test_a_valid_request_id_is_kept_and_returned(api):
    given = "trace-0af7651916cd43dd8448eb211c80319c/b7ad6b7169203331:1"
    response = api.get("/healthz", headers={"X-Request-ID": given})
    assert response.headers["X-Request-ID"] == given


@pytest.mark.parametrize(
    "bad",
    ["x" * 201, "has space", 'quote"d', "new\tline", "{json}", "<script>"],
)
def test_a_bad_request_id_is_refused_in_the_one_error_shape(api, bad):
    response = api.get("/healthz", headers={"X-Request-ID": bad})
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"code", "status", "message", "errors"}
    assert "X-Request-ID" in body["errors"]
    replaced = response.headers["X-Request-ID"]
    assert replaced != bad and len(replaced) == 32


def json_lines(herald):
    """Every line of the process's log as a dict; each must be one JSON object."""
    records = []
    for line in herald.log_path.read_text().splitlines():
        if line.strip():
            records.append(json.loads(line))  # fails on any line that is not JSON
    return records


@pytest.mark.slow
def test_one_notification_shares_its_request_id_in_both_instances_logs(
    mongodb_uri, rabbitmq_service, sockets, tmp_path
):
    topic = f"herald-logs-{uuid.uuid4().hex[:8]}"
    env = herald_env(
        mongodb_uri,
        BROKER_URL=rabbitmq_service.url,
        BROKER_TOPIC=topic,
        BROKER_DEAD_LETTER_TOPIC=f"{topic}.dlq",
        LOG_FORMAT="json",
        LOG_LEVEL="debug",
        ACCESS_LOG="-",
    )
    first = HeraldProcess(env, log_path=tmp_path / "first.log")
    second = HeraldProcess(env, log_path=tmp_path / "second.log")
    with first.start(timeout=60), second.start(timeout=60):
        api_first = Api(first.url)
        sender, bob = api_first.register("sender"), api_first.register("bob")
        on_second = sockets(second.url, bob)
        assert on_second.receive_type("ready", timeout=5) is not None
        request_id = f"follow-me-{uuid.uuid4().hex}"
        created = api_first.post(
            "/api/notifications",
            account=sender,
            headers={"X-Request-ID": request_id},
            json={"userId": bob.id, "message": "traced"},
        )
        assert created.status_code == 201 and created.headers["X-Request-ID"] == request_id
        frame = on_second.receive_type("notification", timeout=10)
        assert frame["data"]["id"] == created.json()["id"]

        def traced(herald):
            return [r for r in json_lines(herald) if r.get("request_id") == request_id]

        # The second instance consumed it and wrote it to bob's socket, under the same id.
        loggers = wait_until(lambda: {r["logger"] for r in traced(second)} >= _DELIVERY)
        assert loggers, [r["logger"] for r in traced(second)]
    for herald in (first, second):
        for record in json_lines(herald):
            assert {"time", "level", "logger", "message"} <= set(record)
    # The first one's access log line of the POST names it too.
    access = [r["message"] for r in json_lines(first) if r["logger"] == "gunicorn.access"]
    posted = [line for line in access if "POST /api/notifications" in line]
    assert posted and request_id in posted[0]


_DELIVERY = {"app.delivery.consumer", "app.realtime.hub"}
