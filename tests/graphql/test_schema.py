"""`schema.graphql` at the repository root is the live schema, and the settings' defaults."""

from pathlib import Path

from app.graphql.schema import sdl
from config import DevelopmentConfig, ProductionConfig

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_the_checked_in_schema_is_the_live_one():
    assert SCHEMA_FILE.read_text() == sdl(), (
        "schema.graphql is stale: run `flask --app wsgi graphql-schema > schema.graphql`"
    )


def test_introspection_is_off_by_default_in_production_only(monkeypatch):
    monkeypatch.delenv("GRAPHQL_INTROSPECTION", raising=False)
    assert DevelopmentConfig().GRAPHQL_INTROSPECTION is True
    assert ProductionConfig().GRAPHQL_INTROSPECTION is False
    monkeypatch.setenv("GRAPHQL_INTROSPECTION", "true")
    assert ProductionConfig().GRAPHQL_INTROSPECTION is True
