"""Strict conversion of plain mappings into frozen dataclasses.

Unknown keys, missing keys and wrong types are errors that name the key and the fix, because a
silently ignored typo in ``params.yaml`` would make a validated run untraceable.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any, Literal, get_args, get_origin

from pipeline.errors import SealauditError


class ParamsError(SealauditError):
    """Raised when a params section is malformed."""


def from_mapping(cls: type, raw: Any, where: str) -> Any:
    """Build dataclass ``cls`` from ``raw``, validating keys and types recursively."""
    if not isinstance(raw, dict):
        raise ParamsError(f"{where}: expected a mapping, got {type(raw).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise ParamsError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(fields)}")
    values = {}
    for name, field in fields.items():
        if name not in raw:
            if _has_default(field):
                continue
            raise ParamsError(f"{where}.{name}: missing; add it to params.yaml")
        values[name] = _convert(hints[name], raw[name], f"{where}.{name}")
    instance = cls(**values)
    check = getattr(instance, "validate", None)
    if check is not None:
        try:
            check()
        except ValueError as error:
            raise ParamsError(f"{where}: {error}") from error
    return instance


def _has_default(field: dataclasses.Field) -> bool:
    return (
        field.default is not dataclasses.MISSING or field.default_factory is not dataclasses.MISSING
    )


def _convert(hint: Any, value: Any, where: str) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        # YAML's .inf / .nan are floats: an infinite rate trains a NaN model without a word.
        raise ParamsError(f"{where}: {value!r} is not a finite number; give a finite value")
    origin = get_origin(hint)
    if dataclasses.is_dataclass(hint):
        return from_mapping(hint, value, where)  # type: ignore[arg-type]
    if origin is Literal:
        if value not in get_args(hint):
            raise ParamsError(f"{where}: {value!r} is not one of {list(get_args(hint))}")
        return value
    if origin in (typing.Union, types.UnionType):
        return _convert_union(hint, value, where)
    if origin is tuple:
        return _convert_tuple(hint, value, where)
    if origin is dict:
        key_type, value_type = get_args(hint)
        if not isinstance(value, dict):
            raise ParamsError(f"{where}: expected a mapping")
        return {
            _convert(key_type, k, where): _convert(value_type, v, f"{where}.{k}")
            for k, v in value.items()
        }
    return _convert_scalar(hint, value, where)


def _convert_union(hint: Any, value: Any, where: str) -> Any:
    options = get_args(hint)
    if value is None and type(None) in options:
        return None
    errors = []
    for option in options:
        if option is type(None):
            continue
        try:
            return _convert(option, value, where)
        except ParamsError as error:
            errors.append(str(error))
    raise ParamsError(f"{where}: {value!r} fits none of {options}: {errors}")


def _convert_tuple(hint: Any, value: Any, where: str) -> tuple:
    if not isinstance(value, list | tuple):
        raise ParamsError(f"{where}: expected a list, got {value!r}")
    args = get_args(hint)
    if len(args) == 2 and args[1] is Ellipsis:
        return tuple(_convert(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
    if len(args) != len(value):
        raise ParamsError(f"{where}: expected {len(args)} items, got {len(value)}")
    return tuple(
        _convert(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value, strict=True))
    )


def _convert_scalar(hint: Any, value: Any, where: str) -> Any:
    if hint is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if hint is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if hint is bool and isinstance(value, bool):
        return value
    if hint is str and isinstance(value, str):
        return value
    if hint is Any:
        return value
    raise ParamsError(f"{where}: expected {getattr(hint, '__name__', hint)}, got {value!r}")
