"""Settings: the spec's variables and defaults, and clear errors naming the variable."""

from __future__ import annotations

import pytest

from jeex_cache import ConfigurationError, Settings
from jeex_cache._env import prefixed, variable

SPEC_DEFAULTS = {
    "redis_max_connections": 20,
    "cache_project_data_ttl": 3600,
    "cache_user_session_ttl": 7200,
    "cache_progress_ttl": 1800,
    "rate_limit_default_requests": 100,
    "rate_limit_default_window": 3600,
    "cache_metrics_buffer_size": 100,
    "cache_health_check_interval": 30,
    "max_retries": 3,
    "retry_delay": 1.0,
    "backoff_multiplier": 2.0,
}


SESSION_DEFAULTS = {
    "cache_session_absolute_ttl": 86_400,
    "cache_max_sessions_per_user": 10,
    "cache_session_max_data_bytes": 16_384,
    "cache_session_cookie_name": "jeex_session",
    "cache_session_cookie_secure": True,
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for field in Settings.model_fields:
        for name in (variable(field), prefixed(field), field.upper()):
            monkeypatch.delenv(name, raising=False)


def test_spec_defaults() -> None:
    settings = Settings()
    for name, value in SPEC_DEFAULTS.items():
        assert getattr(settings, name) == value, name
    assert settings.redis_url is None
    assert settings.backend == "memory"
    assert settings.cache_max_payload_bytes == 1_048_576


def test_session_defaults_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings()
    for name, value in SESSION_DEFAULTS.items():
        assert getattr(settings, name) == value, name
    assert settings.session_idle_ttl.total_seconds == 7_200
    assert settings.session_absolute_ttl.total_seconds == 86_400
    monkeypatch.setenv("CACHE_USER_SESSION_TTL", "0.5")
    monkeypatch.setenv("CACHE_SESSION_ABSOLUTE_TTL", "3600")
    monkeypatch.setenv("CACHE_MAX_SESSIONS_PER_USER", "3")
    monkeypatch.setenv("CACHE_SESSION_COOKIE_SECURE", "false")
    settings = Settings()
    assert settings.session_idle_ttl.milliseconds == 500
    assert settings.session_absolute_ttl.total_seconds == 3_600
    assert settings.cache_max_sessions_per_user == 3
    assert settings.cache_session_cookie_secure is False


def test_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://localhost:5240")
    monkeypatch.setenv("REDIS_MAX_CONNECTIONS", "50")
    monkeypatch.setenv("CACHE_PROJECT_DATA_TTL", "60")
    settings = Settings()
    assert settings.backend == "redis"
    assert settings.redis_max_connections == 50
    assert settings.project_data_ttl.total_seconds == 60


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("REDIS_MAX_CONNECTIONS", "abc"),
        ("REDIS_MAX_CONNECTIONS", "0"),
        ("CACHE_PROJECT_DATA_TTL", "-5"),
        ("CACHE_USER_SESSION_TTL", "0"),
        ("CACHE_SESSION_ABSOLUTE_TTL", "-1"),
        ("CACHE_MAX_SESSIONS_PER_USER", "0"),
        ("CACHE_SESSION_MAX_DATA_BYTES", "0"),
        ("CACHE_SESSION_COOKIE_NAME", "bad; name"),
        ("REDIS_URL", "http://example.invalid"),
        ("CACHE_NAMESPACE", "Bad Namespace"),
        ("BACKOFF_MULTIPLIER", "0.5"),
    ],
)
def test_invalid_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=variable):
        Settings()


def test_memory_url_and_empty_url_select_memory() -> None:
    assert Settings(redis_url="memory://").backend == "memory"
    assert Settings(redis_url="").backend == "memory"
    assert Settings(redis_url="rediss://h:6380/0").backend == "redis"
    assert Settings(redis_url="unix:///run/redis.sock").backend == "redis"


def test_url_with_password_is_not_echoed() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings(redis_url="http://user:s3cret@host")
    assert "s3cret" not in str(caught.value)


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(Exception, match="frozen"):
        settings.redis_max_connections = 3  # type: ignore[misc]


def test_reference_service_defaults() -> None:
    settings = Settings()
    assert settings.session_issuer_token is None  # serve then generates one and logs it
    assert settings.metrics_token is None
    assert settings.session_issuer_max_data_bytes == 4_096
    assert settings.session_issuer_max_projects == 100
    assert {"/health", "/metrics"} <= settings.rate_limit_exempt


def test_reference_service_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    token = "t" * 43
    monkeypatch.setenv("SESSION_ISSUER_TOKEN", f" {token} ")
    monkeypatch.setenv("METRICS_TOKEN", "")  # empty is unset
    monkeypatch.setenv("SESSION_ISSUER_MAX_PROJECTS", "5")
    monkeypatch.setenv("SESSION_ISSUER_MAX_DATA_BYTES", "512")
    monkeypatch.setenv("RATE_LIMIT_EXEMPT_PATHS", " /health , /livez,")
    settings = Settings()
    assert settings.session_issuer_token is not None
    assert settings.session_issuer_token.get_secret_value() == token
    assert token not in repr(settings)
    assert token not in str(settings.model_dump())
    assert settings.metrics_token is None
    assert (settings.session_issuer_max_projects, settings.session_issuer_max_data_bytes) == (
        5,
        512,
    )
    assert settings.rate_limit_exempt == frozenset({"/health", "/livez"})


@pytest.mark.parametrize("variable", ["SESSION_ISSUER_TOKEN", "METRICS_TOKEN"])
@pytest.mark.parametrize("value", ["short-s3cret", "s3cret-with-a\nnewline-inside"])
def test_a_weak_token_is_refused_and_not_echoed(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=variable) as caught:
        Settings()
    assert "s3cret" not in str(caught.value)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("RATE_LIMIT_EXEMPT_PATHS", "/health,metrics"),
        ("SESSION_ISSUER_MAX_PROJECTS", "-1"),
        ("SESSION_ISSUER_MAX_DATA_BYTES", "0"),
    ],
)
def test_invalid_reference_service_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=variable):
        Settings()
