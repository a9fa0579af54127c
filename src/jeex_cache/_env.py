"""Where each setting is read in the environment, and which names are deprecated.

Every setting reads ``JEEX_<NAME>`` (``JEEX_REDIS_URL``, ``JEEX_RETRY_DELAY``...), and that
name wins. The names the specification lists (``SPEC_NAMES``) are also read bare, as
before. Every other bare name (``RETRY_DELAY``, ``METRICS_TOKEN``, ``REDIS_SOCKET_TIMEOUT``...)
is still read for this release, when its prefixed form is unset, with a deprecation warning
in the log; the next release reads it no more. Names match case-insensitively, as
pydantic-settings matches them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import AliasChoices, BaseModel
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

__all__ = [
    "PREFIX",
    "SPEC_NAMES",
    "Environment",
    "field_names",
    "find",
    "prefixed",
    "upper_environ",
    "variable",
]

logger = logging.getLogger("jeex_cache.config")

PREFIX = "JEEX_"
SPEC_NAMES = frozenset({
    "redis_url", "redis_max_connections",
    "cache_project_data_ttl", "cache_user_session_ttl", "cache_progress_ttl",
    "cache_task_status_ttl",  # the spec's TTL presets name it; CACHE_*_TTL like the others
    "rate_limit_default_requests", "rate_limit_default_window",
    "cache_metrics_buffer_size", "cache_health_check_interval",
})  # fmt: skip
"""Settings whose bare names the specification lists: read bare for good."""

_VARIABLES = {  # else the field's name
    "near_cache_max_bytes": "CACHE_NEAR_CACHE_MAX_BYTES",
    "near_cache_shared_values": "CACHE_NEAR_CACHE_SHARED_VALUES",
}
_FORMER = {"near_cache_max_bytes": ("NEAR_CACHE_MAX_BYTES",)}  # also read, deprecated


def variable(field: str) -> str:
    """The bare environment name of setting ``field`` (``retry_delay``: ``RETRY_DELAY``)."""
    return _VARIABLES.get(field, field.upper())


def prefixed(field: str) -> str:
    """The name to set for setting ``field``: ``JEEX_`` and its bare name."""
    return PREFIX + variable(field)


def find(field: str, environ: Mapping[str, str]) -> tuple[str, str] | None:
    """The variable that sets ``field`` in ``environ`` (upper-case keys) and its value:
    the prefixed name first, then the bare ones; None when none is set."""
    for name in (prefixed(field), variable(field), *_FORMER.get(field, ())):
        if name in environ:
            return name, environ[name]
    return None


def field_names(model: type[BaseModel]) -> dict[str, str]:
    """Field name of each name a keyword argument may use (the fields' own and their aliases)."""
    names = {name: name for name in model.model_fields}
    for name, info in model.model_fields.items():
        if isinstance(info.validation_alias, AliasChoices):
            names.update({str(choice): name for choice in info.validation_alias.choices})
    return names


def upper_environ() -> dict[str, str]:
    """``os.environ`` with upper-case names (the settings match names case-insensitively)."""
    return {name.upper(): value for name, value in os.environ.items()}


class Environment(PydanticBaseSettingsSource):
    """The settings source of the environment: prefixed names, spec names, deprecated names.

    ``overridden``: the fields given as keyword arguments, whose variables are not read.
    """

    def __init__(self, settings_cls: type[BaseSettings], overridden: Iterable[str] = ()) -> None:
        super().__init__(settings_cls)
        self.overridden = frozenset(overridden)

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        environ = upper_environ()
        found = find(field_name, environ)
        return (None if found is None else found[1]), field_name, False

    def __call__(self) -> dict[str, Any]:
        environ = upper_environ()
        values: dict[str, Any] = {}
        for field in self.settings_cls.model_fields:
            if field in self.overridden:
                continue
            found = find(field, environ)
            if found is None:
                continue
            name, values[field] = found
            if name != prefixed(field) and field not in SPEC_NAMES:
                logger.warning(
                    "environment variable %s is deprecated and will not be read by the next "
                    "release: set %s instead",
                    name,
                    prefixed(field),
                )
        return values
