"""Reading a configuration table into its dataclass, with errors that name the key
(private to :mod:`gan_models`; :mod:`gan_models.config` is the user)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

__all__ = ["ConfigError"]


class ConfigError(ValueError):
    """A bad configuration value; the message names the key and what was expected."""


# -- generic validation ----------------------------------------------------------------------


def _type_name(annotation: Any) -> str:
    return str(annotation).replace("typing.", "")


def _from_mapping(cls: type, mapping: Any, where: str) -> Any:
    prefix = f"{where}." if where else ""
    if not isinstance(mapping, Mapping):
        raise ConfigError(
            f"{where or 'config'}: expected a table of settings, got {type(mapping).__name__}"
        )
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(mapping) - set(fields))
    if unknown:
        raise ConfigError(f"{prefix}{unknown[0]}: unknown key, expected one of {sorted(fields)}")
    values: dict[str, Any] = {}
    defaults = cls()
    for name, value in mapping.items():
        default = getattr(defaults, name)
        key = f"{prefix}{name}"
        if dataclasses.is_dataclass(default):
            values[name] = _from_mapping(type(default), value, key)
        else:
            values[name] = _coerce(value, default, key, fields[name].type)
    return cls(**values)


def _coerce(value: Any, default: Any, key: str, annotation: Any) -> Any:
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true or false, got {value!r}")
        return value
    if isinstance(default, int) and not isinstance(default, bool):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        return value
    if isinstance(default, float) and "list" not in str(annotation):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        if not math.isfinite(value):
            raise ConfigError(f"{key}: expected a finite number, got {value!r}")
        return float(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {value!r}")
        return value
    if isinstance(default, dict):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{key}: expected a table, got {value!r}")
        return dict(value)
    if isinstance(default, list) and default and isinstance(default[0], str):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{key}: expected a list of strings, got {value!r}")
        return list(value)
    if isinstance(value, list):
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            raise ConfigError(f"{key}: expected a list of numbers, got {value!r}")
        return [float(v) for v in value]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{key}: expected {_type_name(annotation)}, got {value!r}")
    return float(value)


def _positive(value: int, key: str, *, allow_zero: bool = False) -> None:
    low = 0 if allow_zero else 1
    if value < low:
        raise ConfigError(f"{key}: expected an integer >= {low}, got {value}")


def _nonnegative(value: float, key: str) -> None:
    if not value >= 0:
        raise ConfigError(f"{key}: expected a number >= 0, got {value}")


def _choice(value: str, key: str, options: tuple[str, ...]) -> None:
    if value not in options:
        raise ConfigError(f"{key}: expected one of {', '.join(options)}; got {value!r}")
