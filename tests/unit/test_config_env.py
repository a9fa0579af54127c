"""Settings from the environment: ``JEEX_`` names win, the spec's names stay bare, other bare
names are deprecated (read, with a warning in the log); every bad value fails at
construction; secrets never show in ``repr``, ``str`` or the dumps."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator

import pytest

from jeex_cache import ConfigurationError, Settings
from jeex_cache._env import SPEC_NAMES, Environment, prefixed, variable

SPEC_VARIABLES = {
    "REDIS_URL": ("redis://cache.internal:5240/0", "redis_url", "redis://cache.internal:5240/0"),
    "REDIS_MAX_CONNECTIONS": ("50", "redis_max_connections", 50),
    "CACHE_PROJECT_DATA_TTL": ("60", "cache_project_data_ttl", 60),
    "CACHE_USER_SESSION_TTL": ("90", "cache_user_session_ttl", 90),
    "CACHE_PROGRESS_TTL": ("120", "cache_progress_ttl", 120),
    "CACHE_TASK_STATUS_TTL": ("600", "cache_task_status_ttl", 600),
    "RATE_LIMIT_DEFAULT_REQUESTS": ("7", "rate_limit_default_requests", 7),
    "RATE_LIMIT_DEFAULT_WINDOW": ("60", "rate_limit_default_window", 60),
    "CACHE_METRICS_BUFFER_SIZE": ("5", "cache_metrics_buffer_size", 5),
    "CACHE_HEALTH_CHECK_INTERVAL": ("12", "cache_health_check_interval", 12),
}
DEPRECATED_VARIABLES = {
    "RETRY_DELAY": ("0.5", "retry_delay", 0.5),
    "MAX_RETRIES": ("1", "max_retries", 1),
    "BACKOFF_MULTIPLIER": ("3", "backoff_multiplier", 3.0),
    "REDIS_SOCKET_TIMEOUT": ("1.5", "redis_socket_timeout", 1.5),
    "CACHE_NAMESPACE": ("app", "cache_namespace", "app"),
    "CACHE_NEAR_CACHE_MAX_BYTES": ("4096", "near_cache_max_bytes", 4096),
    "NEAR_CACHE_MAX_BYTES": ("8192", "near_cache_max_bytes", 8192),
    "CACHE_NEAR_CACHE_SHARED_VALUES": ("true", "near_cache_shared_values", True),
}
TOKEN = "t0ken-" + "s" * 30


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for field in Settings.model_fields:
        for name in (variable(field), prefixed(field), field.upper()):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def config_log() -> Iterator[Records]:
    """What the settings log (their own handler: a CLI test may stop propagation)."""
    handler, logger = Records(), logging.getLogger("jeex_cache.config")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def test_spec_names_are_the_ones_the_issue_lists() -> None:
    assert {variable(field) for field in SPEC_NAMES} == set(SPEC_VARIABLES)


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_every_setting_reads_its_prefixed_name(
    monkeypatch: pytest.MonkeyPatch, field: str, config_log: Records
) -> None:
    monkeypatch.setenv(prefixed(field), "value")
    monkeypatch.setenv(variable(field), "bare")
    assert Environment(Settings)() == {field: "value"}
    assert config_log.messages == []


@pytest.mark.parametrize("name", sorted(SPEC_VARIABLES))
def test_the_prefixed_spec_name_wins(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    raw, field, expected = SPEC_VARIABLES[name]
    monkeypatch.setenv(f"JEEX_{name}", raw)
    monkeypatch.setenv(name, "not even a valid value")  # ignored: JEEX_ wins
    assert getattr(Settings(), field) == expected


@pytest.mark.parametrize(
    ("name", "deprecated"),
    [(name, False) for name in sorted(SPEC_VARIABLES)]
    + [(name, True) for name in sorted(DEPRECATED_VARIABLES)],
)
def test_bare_names_work_and_only_the_non_spec_ones_log_a_deprecation(
    monkeypatch: pytest.MonkeyPatch, name: str, deprecated: bool, config_log: Records
) -> None:
    raw, field, expected = {**SPEC_VARIABLES, **DEPRECATED_VARIABLES}[name]
    monkeypatch.setenv(name, raw)
    assert getattr(Settings(), field) == expected
    if not deprecated:
        assert config_log.messages == []
        return
    [message] = config_log.messages
    assert name in message
    assert "deprecated" in message
    assert prefixed(field) in message


def test_a_bare_generic_name_is_ignored_when_the_prefixed_one_is_set(
    monkeypatch: pytest.MonkeyPatch, config_log: Records
) -> None:
    monkeypatch.setenv("RETRY_DELAY", "30")  # another tool's
    monkeypatch.setenv("METRICS_TOKEN", "short")  # invalid for us, and not ours
    monkeypatch.setenv("JEEX_RETRY_DELAY", "0.25")
    monkeypatch.setenv("JEEX_METRICS_TOKEN", TOKEN)
    settings = Settings()
    assert settings.retry_delay == 0.25
    assert settings.metrics_token is not None
    assert settings.metrics_token.get_secret_value() == TOKEN
    assert config_log.messages == []


def test_names_match_case_insensitively(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("jeex_max_retries", "5")
    assert Settings().max_retries == 5


def test_keyword_arguments_win_over_the_environment(
    monkeypatch: pytest.MonkeyPatch, config_log: Records
) -> None:
    monkeypatch.setenv("JEEX_MAX_RETRIES", "5")
    monkeypatch.setenv("RETRY_DELAY", "not a number")  # overridden: neither read nor warned of
    monkeypatch.setenv("NEAR_CACHE_MAX_BYTES", "-1")
    settings = Settings(max_retries=2, retry_delay=0.5, cache_near_cache_max_bytes=1024)
    assert (settings.max_retries, settings.retry_delay, settings.near_cache_max_bytes) == (
        2,
        0.5,
        1024,
    )
    assert config_log.messages == []


@pytest.mark.parametrize(
    ("name", "value", "label"),
    [
        ("JEEX_REDIS_MAX_CONNECTIONS", "0", "JEEX_REDIS_MAX_CONNECTIONS:"),
        ("REDIS_MAX_CONNECTIONS", "0", "JEEX_REDIS_MAX_CONNECTIONS (set as REDIS_MAX_CONNECTIONS)"),
        ("RETRY_DELAY", "-1", "JEEX_RETRY_DELAY (set as RETRY_DELAY):"),
    ],
)
def test_an_error_names_the_prefixed_variable_and_the_accepted_form(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, label: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as caught:
        Settings()
    assert label in str(caught.value)
    assert "accepted: " in str(caught.value)


def test_a_keyword_error_names_the_keyword_and_the_variable() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings(redis_max_connections=0)
    message = str(caught.value)
    assert "redis_max_connections (variable JEEX_REDIS_MAX_CONNECTIONS)" in message
    assert "accepted: an integer >= 1 and <= 10000" in message


BAD_URLS = [
    "redis://h:6379/abc",  # a path that is no database
    "redis://h:6379/0?frobnicate=1",  # an unknown option
    "redis://h:6379/0?protocol=4",
    "redis://h:6379/0?socket_timeout=abc",  # redis-py's own option parsing
    "redis://h:99999/0",
    "redis://h:port/0",
    "redis://h:6379/0?ssl_ca_certs=/ca.pem",  # TLS options on a plain URL
    "rediss://h:6379/0?ssl_cert_reqs=sometimes",
    "rediss://h:6379/0?ssl_ca_certs=/nonexistent/ca.pem",
    "unix://",
    "redis+sentinel://h:26379/",  # no service
    "redis+sentinel://h/jeex",  # no port
    "redis+sentinel://h:26379/jeex/0?db=1",
    "redis+sentinel://h:26379/jeex?socket_timeout=abc",
    "redis+cluster://",
    "redis+cluster://h:7000/3",
    "redis+cluster://h:7000,h:x",
    "redis+cluster://h:7000?socket_timeout=abc",
]


@pytest.mark.parametrize("url", BAD_URLS)
def test_a_bad_url_fails_at_construction_without_echoing_its_password(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    scheme, _, rest = url.partition("://")
    with_password = f"{scheme}://user:s3cret-pw@{rest}" if rest else url
    with pytest.raises(ConfigurationError, match="redis_url") as caught:
        Settings(redis_url=with_password)
    assert "s3cret" not in str(caught.value)
    assert "accepted: memory://" in str(caught.value)
    monkeypatch.setenv("JEEX_REDIS_URL", with_password)
    with pytest.raises(ConfigurationError, match="JEEX_REDIS_URL"):
        Settings()


@pytest.mark.parametrize("password", ["s3c/ret", "s3c?ret", "s3c#ret"])
def test_a_password_that_breaks_the_url_is_not_echoed(password: str) -> None:
    with pytest.raises(ConfigurationError, match="percent-encode") as caught:
        Settings(redis_url=f"redis://user:{password}@h:6379/0")
    assert "s3c" not in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "redis://user:pw@h:6379/2?client_name=app&protocol=3&socket_timeout=1",
        "rediss://h:6380/0?ssl_cert_reqs=none",
        "unix:///run/redis.sock?db=1",
        "redis+sentinel://:pw@h1:26379,h2:26379/jeex/0?sentinel_password=sp",
        "rediss+cluster://:pw@h1:7000,h2:7001",
        "memory://",
    ],
)
def test_good_urls_pass(url: str) -> None:
    assert Settings(redis_url=url).redis_url == url


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("cache_project_data_ttl", 10**13),  # past TTL's ten years
        ("cache_progress_ttl", 10**13),
        ("cache_task_status_ttl", 10**13),
        ("cache_user_session_ttl", 0.0004),  # under a millisecond
        ("cache_session_absolute_ttl", 0.0004),
        ("rate_limit_default_requests", 10**8),  # past the rate limiter's bounds
        ("rate_limit_default_window", 10**9),
        ("retry_delay", math.inf),  # the retry policy needs finite numbers
        ("backoff_multiplier", math.inf),
        ("retry_max_delay", math.inf),
        ("cache_health_check_interval", math.nan),
        ("rate_limit_trusted_proxies", "10.0.0.0/8,not-a-network"),
        ("session_issuer_token", "short"),
        ("metrics_queues", "emails,bad queue!"),  # failed at each scrape of /metrics
    ],
)
def test_values_that_failed_at_initialize_fail_at_construction(field: str, value: object) -> None:
    with pytest.raises(ConfigurationError, match=prefixed(field)):
        Settings(**{field: value})


SECRET_URLS = [
    "redis://user:s3cret@cache.internal:6379/0",
    "rediss+sentinel://:s3cret@s1:26379,s2:26379/jeex/0?sentinel_password=s3cret2",
    "redis+cluster://admin:s3cret@n1:7000,n2:7001",
    "rediss://:s3cret@h:6380/0?ssl_cert_reqs=none&ssl_password=s3cret3",
    "redis://:s3cret@h:6379/0?client_name=app@host",  # an '@' past the credentials
]


@pytest.mark.parametrize("url", SECRET_URLS)
def test_no_view_of_the_settings_shows_a_password_or_a_token(url: str) -> None:
    settings = Settings(redis_url=url, metrics_token=TOKEN, session_issuer_token=TOKEN[::-1])
    views = [
        repr(settings),
        str(settings),
        settings.model_dump_json(),
        str(settings.model_dump()),
        str(settings.model_dump(mode="json")),
    ]
    for view in views:
        assert "s3cret" not in view
        assert TOKEN not in view
        assert TOKEN[::-1] not in view
        assert "***" in view
    assert settings.redis_url == url  # the value in force is untouched
