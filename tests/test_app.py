"""The app factory, its settings, health probes and the OpenAPI documentation."""

import re

import pytest
from openapi_spec_validator import validate

from app import create_app
from config import DEFAULT_JWT_SECRET, ProductionConfig, load_config


def test_factory_takes_settings_from_the_environment(monkeypatch, make_config):
    monkeypatch.setenv("RETRY_MAX_ATTEMPTS", "9")
    monkeypatch.setenv("BROKER_TOPIC", "custom.topic")
    config = load_config("testing")
    assert config.RETRY_MAX_ATTEMPTS == 9 and config.BROKER_TOPIC == "custom.topic"
    app = create_app(make_config(BACKGROUND_TASKS=False, BROKER_TOPIC="x.y"))
    assert app.config["BROKER_TOPIC"] == "x.y" and app.config["TESTING"]


@pytest.mark.parametrize("secret", [None, DEFAULT_JWT_SECRET, "short"])
def test_production_refuses_a_weak_jwt_secret(monkeypatch, secret):
    if secret is None:
        monkeypatch.delenv("JWT_SECRET_KEY", raising=False)
    else:
        monkeypatch.setenv("JWT_SECRET_KEY", secret)
    with pytest.raises(RuntimeError, match="JWT_SECRET_KEY"):
        load_config("production")


def test_production_accepts_a_strong_secret(monkeypatch):
    monkeypatch.setenv("JWT_SECRET_KEY", "s" * 40)
    assert isinstance(load_config("production"), ProductionConfig)


def test_health_and_readiness(api):
    assert api.get("/healthz").json() == {"status": "ok"}
    ready = api.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {
        "database": "ok",
        "broker": "ok",
        "consumer": "ok",
        "outbox": "ok",
        "consumer_lag": "ok",
    }


def test_openapi_spec_validates_and_documents_every_route(api, server):
    spec = api.get("/api-docs/openapi.json").json()
    validate(spec)
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    documented = {re.sub(r"\{(\w+)\}", r"<\1>", path) for path in spec["paths"]}
    routes = {
        rule.rule
        for rule in server.app.url_map.iter_rules()
        if rule.rule.startswith("/api/") and not rule.rule.startswith("/api-docs")
    }
    assert routes <= documented
    create = spec["paths"]["/api/notifications"]["post"]
    assert {"201", "401", "404", "422"} <= set(create["responses"])
    assert create["security"] == [{"bearerAuth": []}]
    error = spec["components"]["schemas"]["Error"]
    assert set(error["properties"]) == {"code", "status", "message", "errors"}


def test_swagger_ui_is_served_from_local_files(api):
    page = api.get("/api-docs/")
    assert page.status_code == 200
    references = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert references, "the page loads no assets?"
    for reference in references:
        assert reference.startswith("/"), f"{reference} is not local"
        asset = api.get(reference)
        assert asset.status_code == 200 and asset.content
    assert "http://" not in page.text and "https://" not in page.text


def test_the_spec_explains_the_websocket(api):
    description = api.get("/api-docs/openapi.json").json()["info"]["description"]
    assert "/ws" in description and "since=" in description


def test_development_reads_a_dotenv_file(monkeypatch, tmp_path):
    # Registered with monkeypatch first, so the value load_dotenv sets is undone afterwards.
    monkeypatch.setenv("BROKER_GROUP_PREFIX", "unset")
    monkeypatch.delenv("BROKER_GROUP_PREFIX")
    (tmp_path / ".env").write_text("BROKER_GROUP_PREFIX=from-dotenv\n")
    monkeypatch.chdir(tmp_path)
    assert load_config("development").BROKER_GROUP_PREFIX == "from-dotenv"
