"""Settings (config.py): derived values, production checks and environment parsing."""

import pytest

import config


def test_the_socket_options_follow_an_overridden_message_size():
    settings = config.TestingConfig().apply({"WS_MAX_MESSAGE_SIZE": 5})
    assert settings.SOCK_SERVER_OPTIONS["max_message_size"] == 5
    # Herald pings from its own loop, never from simple-websocket's.
    assert settings.SOCK_SERVER_OPTIONS["ping_interval"] is None


def test_the_broker_options_follow_overridden_broker_settings():
    settings = config.TestingConfig().apply({"KAFKA_PARTITIONS": 7, "RABBITMQ_HEARTBEAT": 11})
    assert settings.BROKER_OPTIONS["partitions"] == 7
    assert settings.BROKER_OPTIONS["heartbeat"] == 11


def test_apply_returns_the_settings_it_changed():
    settings = config.TestingConfig()
    assert settings.apply({"RETRY_MAX_ATTEMPTS": 2}) is settings
    assert settings.RETRY_MAX_ATTEMPTS == 2


def test_production_refuses_the_default_jwt_secret(monkeypatch):
    monkeypatch.delenv("JWT_SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="JWT_SECRET_KEY"):
        config.ProductionConfig().validate()


def test_production_refuses_a_short_jwt_secret(monkeypatch):
    monkeypatch.setenv("JWT_SECRET_KEY", "short")
    with pytest.raises(RuntimeError, match="JWT_SECRET_KEY"):
        config.ProductionConfig().validate()


def test_production_accepts_a_long_random_jwt_secret(monkeypatch):
    monkeypatch.setenv("JWT_SECRET_KEY", "k" * 40)
    config.ProductionConfig().validate()


def test_load_config_validates_what_it_loads(monkeypatch):
    monkeypatch.delenv("JWT_SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="JWT_SECRET_KEY"):
        config.load_config("production")


@pytest.mark.parametrize("value", ["1", "true", "TRUE", "yes", "on", " On "])
def test_env_bool_reads_truthy_spellings_as_true(monkeypatch, value):
    monkeypatch.setenv("HERALD_TEST_FLAG", value)
    assert config.env_bool("HERALD_TEST_FLAG", False) is True


@pytest.mark.parametrize("value", ["0", "false", "no", "off", "anything"])
def test_env_bool_reads_other_values_as_false(monkeypatch, value):
    monkeypatch.setenv("HERALD_TEST_FLAG", value)
    assert config.env_bool("HERALD_TEST_FLAG", True) is False


@pytest.mark.parametrize("value", [None, "", "   "])
def test_env_bool_falls_back_to_its_default_when_unset_or_empty(monkeypatch, value):
    if value is None:
        monkeypatch.delenv("HERALD_TEST_FLAG", raising=False)
    else:
        monkeypatch.setenv("HERALD_TEST_FLAG", value)
    assert config.env_bool("HERALD_TEST_FLAG", True) is True
    assert config.env_bool("HERALD_TEST_FLAG", False) is False


def test_a_setting_is_read_from_the_environment_when_the_config_is_made(monkeypatch):
    monkeypatch.setenv("WS_MAX_MESSAGE_SIZE", "1234")
    assert config.TestingConfig().SOCK_SERVER_OPTIONS["max_message_size"] == 1234


def test_an_unknown_herald_env_is_refused(monkeypatch):
    monkeypatch.setenv("HERALD_ENV", "staging")
    with pytest.raises(RuntimeError, match="HERALD_ENV"):
        config.load_config()
