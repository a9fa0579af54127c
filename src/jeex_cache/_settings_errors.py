"""The message of an invalid setting: the variable to set, where the value came from, and
the form it accepts. A URL or a token is never echoed (a URL may carry a password)."""

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, SecretStr, ValidationError
from pydantic.fields import FieldInfo

from jeex_cache._env import field_names, find, prefixed, upper_environ

__all__ = ["describe"]

_SECRET_SUFFIXES = ("url", "token")
_BOUNDS = (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"))  # annotated-types bounds
_KINDS: dict[Any, str] = {int: "an integer", float: "a number", bool: "true or false", str: "text"}


def describe(exc: ValidationError, model: type[BaseModel], *, given: Mapping[str, Any]) -> str:
    """``invalid configuration: JEEX_X (from X): <problem> (got <value>); accepted: <form>``."""
    fields = field_names(model)
    environ = upper_environ()
    problems = []
    for error in exc.errors():
        key = str(error["loc"][0]) if error["loc"] else ""
        field = fields.get(key)
        if field is None:
            problems.append(f"{key or 'settings'}: {error['msg']}")
            continue
        message = error["msg"].removeprefix("Value error, ")
        problem = f"{_label(field, key, given, environ)}: {message}"
        if not field.endswith(_SECRET_SUFFIXES):
            shown = repr(error.get("input"))
            problem += f" (got {shown[:57] + '...' if len(shown) > 60 else shown})"
        if error["type"] != "value_error":  # a validator's own message states the form
            problem += f"; accepted: {_accepted(model.model_fields[field])}"
        problems.append(problem)
    return "invalid configuration: " + "; ".join(problems)


def _label(field: str, key: str, given: Mapping[str, Any], environ: Mapping[str, str]) -> str:
    if key in given:
        return f"{key} (variable {prefixed(field)})"
    found = find(field, environ)
    if found is not None and found[0] != prefixed(field):
        return f"{prefixed(field)} (set as {found[0]})"
    return prefixed(field)


def _accepted(info: FieldInfo) -> str:
    """The accepted form of a field, from its type and constraints."""
    annotation: Any = info.annotation
    optional = type(None) in typing.get_args(annotation)
    if optional:
        annotation = next(arg for arg in typing.get_args(annotation) if arg is not type(None))
    if typing.get_origin(annotation) is typing.Literal:
        form = "one of " + ", ".join(repr(choice) for choice in typing.get_args(annotation))
    else:
        form = _KINDS.get(annotation, "a secret" if annotation is SecretStr else "a value")
    bounds = []
    for meta in info.metadata:
        bounds += [f"{sign} {getattr(meta, name)}" for name, sign in _BOUNDS if hasattr(meta, name)]
        pattern = getattr(meta, "pattern", None)
        if pattern:
            form += f" matching {pattern}"
    if bounds:
        form += " " + " and ".join(bounds)
    return form + (", or unset" if optional else "")
