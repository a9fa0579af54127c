"""Settings: the spec's environment variables (and ours), with their defaults.

``Settings()`` reads the environment (``JEEX_<NAME>``, and the spec's names bare: see
``_env``); keyword arguments override it. Every value is checked here, the backend URL as
connecting would check it, so a bad deployment fails when the settings are built: the
``ConfigurationError`` names the variable and the accepted form. ``repr``, ``str`` and the
dumps mask the URL's password and the tokens.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_serializer,
    field_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from jeex_cache._env import Environment, field_names
from jeex_cache._settings_errors import describe
from jeex_cache.core.backend_url import check_url, masked_url
from jeex_cache.core.errors import ConfigurationError
from jeex_cache.core.ttl import TTL
from jeex_cache.rate_limit.model import RateLimitConfig
from jeex_cache.rate_limit.policy import MAX_LIMIT, MAX_WINDOW_SECONDS
from jeex_cache.tasks.service import validate_queue

__all__ = ["BACKEND_SCHEMES", "DEFAULT_EXEMPT_PATHS", "Settings"]

BACKEND_SCHEMES = frozenset({"memory", "redis", "rediss", "unix"})
BACKEND_SCHEMES |= {"redis+sentinel", "rediss+sentinel"}
BACKEND_SCHEMES |= {"redis+cluster", "rediss+cluster"}  # Redis Cluster (seed nodes)
# Probes, the scraper and the API docs: never counted by the reference service's default limit.
DEFAULT_EXEMPT_PATHS = (
    "/health",
    "/metrics",
    "/docs",
    "/docs/oauth2-redirect",
    "/redoc",
    "/openapi.json",
    "/ui/api/overview",  # the dashboard's poll (operators only)
)
URL_FORMS = (
    "memory://, redis[s]://[[user]:password@]host[:port][/db], unix://[[user]:password@]/path, "
    "redis[s]+sentinel://host:port[,host:port...]/<service>[/<db>], "
    "redis[s]+cluster://host:port[,host:port...] (docs/configuration.md)"
)
MIN_TOKEN_LENGTH = 16
_MAX_TTL_SECONDS = TTL.MAX_MILLISECONDS // 1000


class Settings(BaseSettings):
    """Configuration of a ``CacheManager``; field ``x_y`` is read from env variable
    ``JEEX_X_Y`` (and ``X_Y``: for good for the spec's names, deprecated for the others)."""

    model_config = SettingsConfigDict(
        frozen=True, extra="forbid", validate_default=True, allow_inf_nan=False
    )

    # Redis (spec)
    redis_url: str | None = Field(
        None, description="Backend URL; unset or memory:// selects the in-process backend."
    )
    redis_max_connections: int = Field(20, ge=1, le=10_000)
    # Redis (ours): a stalled server must never hang a request.
    redis_socket_timeout: float = Field(0.25, gt=0, le=60)
    redis_connect_timeout: float = Field(2.0, gt=0, le=60)
    redis_pool_timeout: float = Field(0.25, gt=0, le=60)
    # Redis transport (ours; docs/transport.md). Every script, command and batch shares
    # REDIS_MULTIPLEX_CONNECTIONS multiplexed connections, each carrying up to
    # REDIS_MAX_INFLIGHT commands at once (more callers wait in order; they do not fail).
    # A reply later than REDIS_COMMAND_TIMEOUT (default REDIS_SOCKET_TIMEOUT) closes its
    # connection as stalled. REDIS_MAX_CONNECTIONS and REDIS_POOL_TIMEOUT now bound the
    # redis-py connections kept for blocking, pub/sub and stateful commands.
    redis_multiplex_connections: int = Field(2, ge=1, le=64)
    redis_max_inflight: int = Field(256, ge=1, le=1_000_000)
    redis_command_timeout: float | None = Field(None, gt=0, le=60)
    # Durability on Cluster and Sentinel (ours; docs/deploying.md "Durability"): an enqueue is
    # acknowledged once REDIS_WAIT_REPLICAS replicas confirm it within REDIS_WAIT_TIMEOUT ms.
    redis_wait_replicas: int = Field(1, ge=0, le=100)
    redis_wait_timeout: int = Field(500, ge=1, le=60_000)

    # Cache TTLs in seconds (spec)
    cache_project_data_ttl: int = Field(3_600, gt=0, le=_MAX_TTL_SECONDS)
    cache_user_session_ttl: float = Field(7_200, ge=0.001, le=_MAX_TTL_SECONDS)
    cache_progress_ttl: int = Field(1_800, gt=0, le=_MAX_TTL_SECONDS)
    cache_task_status_ttl: int = Field(86_400, gt=0, le=_MAX_TTL_SECONDS)
    # Tasks (ours): most tasks of one project running at once per queue (0: no cap)
    task_max_running_per_project: int = Field(0, ge=0, le=1_000_000)
    # Progress (ours): events kept per operation, seconds between SSE keep-alive comments
    cache_progress_max_events: int = Field(1_000, ge=10, le=100_000)
    cache_progress_keepalive: float = Field(15.0, gt=0, le=300)
    # Progress over HTTP (ours): true lets anyone read progress that no project owns.
    progress_public: bool = False

    # Rate limiting (spec)
    rate_limit_default_requests: int = Field(100, gt=0, le=MAX_LIMIT)
    rate_limit_default_window: int = Field(3_600, gt=0, le=MAX_WINDOW_SECONDS)
    # Rate limiting (ours): see README "Rate limiting".
    rate_limit_enabled: bool = True
    rate_limit_fail_closed: bool = False
    rate_limit_ipv6_prefix: int = Field(64, ge=1, le=128)
    rate_limit_trusted_proxies: str = Field("", description="Comma-separated IPs or CIDRs.")
    rate_limit_forwarded_header: Literal["x-forwarded-for", "forwarded"] = "x-forwarded-for"

    # Performance monitoring (spec)
    cache_metrics_buffer_size: int = Field(100, gt=0)
    cache_health_check_interval: float = Field(30, gt=0)

    # Retry logic (spec), circuit breaker and deadline (ours)
    max_retries: int = Field(3, ge=0, le=20)
    retry_delay: float = Field(1.0, ge=0)
    backoff_multiplier: float = Field(2.0, ge=1)
    retry_max_delay: float = Field(5.0, ge=0)
    cache_request_deadline: float = Field(0.5, gt=0, le=60)
    circuit_breaker_failure_threshold: int = Field(5, ge=1, le=1000)
    circuit_breaker_reset_timeout: float = Field(3.0, gt=0, le=3600)
    cache_slow_operation_ms: float = Field(10.0, gt=0)

    # Sessions (ours): the idle timeout above slides; these bound a session whatever it does.
    cache_session_absolute_ttl: float = Field(86_400, ge=0.001, le=_MAX_TTL_SECONDS)
    cache_max_sessions_per_user: int = Field(10, ge=1, le=1_000)
    cache_session_max_data_bytes: int = Field(16_384, gt=0, le=1_048_576)
    cache_session_cookie_name: str = Field("jeex_session", pattern=r"^[A-Za-z0-9_\-]{1,64}$")
    cache_session_cookie_secure: bool = True

    # Embedded backend (ours): bytes all of its state may hold, as measured in memory; when
    # full it evicts cache entries as Redis does under maxmemory (expired first, then the least
    # recently used) and refuses what else does not fit (core/memory_budget.py).
    cache_memory_max_bytes: int = Field(256 * 1_048_576, ge=65_536)
    # Near cache (ours; docs/project-cache.md): bytes of an in-process L1 in front of Redis,
    # kept in step by CLIENT TRACKING; 0 turns it off. No-op on the embedded backend.
    near_cache_max_bytes: int = Field(
        0,
        ge=0,
        le=64 * 1_073_741_824,
        validation_alias=AliasChoices("near_cache_max_bytes", "cache_near_cache_max_bytes"),
    )
    # Near cache hits hand every caller the one value kept decoded, not a copy of its own:
    # the callers promise never to mutate what they read (docs/project-cache.md).
    near_cache_shared_values: bool = Field(
        False,
        validation_alias=AliasChoices("near_cache_shared_values", "cache_near_cache_shared_values"),
    )
    # Reference service (ours): see docs/deploying.md.
    session_issuer_token: SecretStr | None = Field(
        None, description="Bearer token POST /sessions requires; unset: one is made at start."
    )
    session_issuer_max_data_bytes: int = Field(4_096, gt=0, le=1_048_576)
    session_issuer_max_projects: int = Field(100, ge=0, le=1_000)
    metrics_token: SecretStr | None = Field(None, description="Bearer token GET /metrics needs.")
    metrics_queues: str = Field(
        "", description="Comma-separated task queues whose depths /metrics and /ui show."
    )
    rate_limit_exempt_paths: str = Field(
        ",".join(DEFAULT_EXEMPT_PATHS), description="Comma-separated paths the default skips."
    )

    # Loaders (ours): the lease one loader holds (extended while it runs), XFetch's beta.
    cache_loader_lease_seconds: float = Field(10.0, gt=0, le=3_600)
    cache_xfetch_beta: float = Field(1.0, ge=0, le=100)

    # Ours
    cache_namespace: str = Field("jeex", pattern=r"^[a-z][a-z0-9_\-]{0,31}$")
    cache_max_payload_bytes: int = Field(1_048_576, gt=0, le=512 * 1_048_576)
    cache_debug: bool = False

    # Request bodies of the reference service (ours): see docs/deploying.md.
    http_max_concurrent_bodies: int = Field(8, ge=1, le=10_000)
    http_body_wait_seconds: float = Field(2.0, ge=0, le=60)
    http_max_json_depth: int = Field(64, ge=1, le=250)
    http_max_json_elements: int = Field(200_000, ge=1, le=100_000_000)
    http_credential_failures: int = Field(20, ge=1, le=1_000_000)
    http_credential_failure_window: int = Field(300, ge=1, le=86_400)

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise ConfigurationError(describe(exc, type(self), given=values)) from None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keyword arguments, then ``JEEX_`` and bare names (``_env``), then files."""
        given = getattr(init_settings, "init_kwargs", {})  # not read, nor warned about
        fields = {field_names(settings_cls).get(key, key) for key in given}
        return (
            init_settings,
            Environment(settings_cls, fields),
            dotenv_settings,
            file_secret_settings,
        )

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        for name, value in super().__repr_args__():
            yield name, (masked_url(value) if name == "redis_url" and value else value)

    @field_serializer("redis_url")
    def _masked(self, url: str | None) -> str | None:
        return None if url is None else masked_url(url)

    @field_validator("redis_url")
    @classmethod
    def _backend_url(cls, url: str | None) -> str | None:
        if url is None or url == "":
            return None
        scheme = urlsplit(url).scheme
        if scheme not in BACKEND_SCHEMES:
            known = ", ".join(sorted(f"{s}://" for s in BACKEND_SCHEMES))
            raise ValueError(f"unsupported scheme {scheme or '(none)'!r}; use one of {known}")
        if scheme != "memory":
            try:
                check_url(url)
            except ValueError as exc:
                raise ValueError(f"{exc}; accepted: {URL_FORMS}") from None
        return url

    @field_validator("rate_limit_trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip():
                ipaddress.ip_network(part.strip(), strict=False)  # ValueError names the part
        return value

    @field_validator("session_issuer_token", "metrics_token", mode="before")
    @classmethod
    def _token(cls, value: Any) -> Any:
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if isinstance(value, str):
            value = value.strip()
            if not value:
                return None  # an empty variable is unset
            if len(value) < MIN_TOKEN_LENGTH or any(not c.isprintable() for c in value):
                raise ValueError(
                    f"use at least {MIN_TOKEN_LENGTH} printable characters "
                    "(python -c 'import secrets; print(secrets.token_urlsafe(32))')"
                )
        return value

    @field_validator("metrics_queues")
    @classmethod
    def _queues(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip():
                validate_queue(part.strip())  # InvalidIdentifierError is a ValueError
        return value

    @field_validator("rate_limit_exempt_paths")
    @classmethod
    def _paths(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip() and not part.strip().startswith("/"):
                raise ValueError(f"a path starts with '/', got {part.strip()!r}")
        return value

    @field_validator("rate_limit_forwarded_header", mode="before")
    @classmethod
    def _header_name(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @property
    def backend(self) -> str:
        """``memory`` or ``redis``: which backend ``redis_url`` selects."""
        if self.redis_url is None or self.redis_url.startswith("memory:"):
            return "memory"
        return "redis"

    @property
    def rate_limit_default(self) -> RateLimitConfig:
        """``RATE_LIMIT_DEFAULT_REQUESTS`` per ``RATE_LIMIT_DEFAULT_WINDOW`` seconds."""
        return RateLimitConfig(self.rate_limit_default_requests, self.rate_limit_default_window)

    @property
    def trusted_proxies(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """``RATE_LIMIT_TRUSTED_PROXIES`` as networks."""
        parts = (part.strip() for part in self.rate_limit_trusted_proxies.split(","))
        return tuple(ipaddress.ip_network(part, strict=False) for part in parts if part)

    @property
    def metrics_queue_names(self) -> tuple[str, ...]:
        """``METRICS_QUEUES`` as a tuple of queue names."""
        return tuple(q.strip() for q in self.metrics_queues.split(",") if q.strip())

    @property
    def rate_limit_exempt(self) -> frozenset[str]:
        """``RATE_LIMIT_EXEMPT_PATHS`` as a set of paths."""
        return frozenset(p.strip() for p in self.rate_limit_exempt_paths.split(",") if p.strip())

    @property
    def project_data_ttl(self) -> TTL:
        """Default TTL of project data (``CACHE_PROJECT_DATA_TTL``)."""
        return TTL(self.cache_project_data_ttl * 1000)

    @property
    def session_idle_ttl(self) -> TTL:
        """Sliding idle timeout of a session (``CACHE_USER_SESSION_TTL``)."""
        return TTL.seconds(self.cache_user_session_ttl)

    @property
    def session_absolute_ttl(self) -> TTL:
        """Longest life of a session from its creation (``CACHE_SESSION_ABSOLUTE_TTL``)."""
        return TTL.seconds(self.cache_session_absolute_ttl)

    @property
    def progress_ttl(self) -> TTL:
        """How long progress records and events live after their last update."""
        return TTL(self.cache_progress_ttl * 1000)
