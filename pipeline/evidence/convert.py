"""Strict conversion between evidence JSON and the frozen dataclasses of ``documents``.

Unlike the params loader (``pipeline.config.base.from_mapping``) values are kept exactly as the
stage wrote them (no int -> float, NaN allowed), so ``to_dict(from_dict(x)) == x`` and a
document written through a dataclass has the bytes the stage wrote before.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from typing import Any, get_args, get_origin

from pipeline.errors import SealauditError

OMIT_IF_NONE = "omit_if_none"


class EvidenceError(SealauditError):
    """An evidence document is missing, malformed, or does not match its contract."""


@dataclass(frozen=True)
class Where:
    """Which document (file and writing stage) a key path belongs to, for error messages."""

    file: str
    stage: str
    key: str = ""

    def at(self, key: str | int) -> Where:
        """The location of ``key`` below this one."""
        if isinstance(key, int):
            return Where(self.file, self.stage, f"{self.key}[{key}]")
        return Where(self.file, self.stage, f"{self.key}.{key}" if self.key else key)

    def error(self, problem: str) -> EvidenceError:
        """An error naming the file, the key and the stage to rerun."""
        key = f" key {self.key!r}" if self.key else ""
        return EvidenceError(
            f"{self.file}:{key} {problem}; written by stage `{self.stage}`: rerun "
            f"`dvc repro {self.stage}` (or update pipeline/evidence/ with the writer)"
        )


def optional() -> Any:
    """A field whose key the writer leaves out when it has no value (read as None)."""
    return dataclasses.field(default=None, metadata={OMIT_IF_NONE: True})


def from_dict(cls: type, raw: Any, where: Where) -> Any:
    """Build dataclass ``cls`` from ``raw``: unknown or missing keys are errors."""
    if not isinstance(raw, dict):
        raise where.error(f"expected a JSON object, got {type(raw).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise where.at(unknown[0]).error(f"unknown (known keys: {sorted(fields)})")
    values = {}
    for name, field in fields.items():
        if name not in raw:
            if field.metadata.get(OMIT_IF_NONE):
                continue
            raise where.at(name).error("missing")
        values[name] = _convert(hints[name], raw[name], where.at(name))
    return cls(**values)


def _convert(hint: Any, value: Any, where: Where) -> Any:
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value, where)  # type: ignore[arg-type]
    origin, args = get_origin(hint), get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _convert(inner[0], value, where) if len(inner) == 1 else value
    if origin is list and args and dataclasses.is_dataclass(args[0]):
        if not isinstance(value, list):
            raise where.error("expected a list")
        return [_convert(args[0], v, where.at(i)) for i, v in enumerate(value)]
    if origin is dict and args and dataclasses.is_dataclass(args[1]):
        if not isinstance(value, dict):
            raise where.error("expected a JSON object")
        return {k: _convert(args[1], v, where.at(k)) for k, v in value.items()}
    return value


def to_dict(instance: Any) -> dict[str, Any]:
    """The JSON object of a document dataclass (inverse of ``from_dict``)."""
    out = {}
    for field in dataclasses.fields(instance):
        value = getattr(instance, field.name)
        if value is None and field.metadata.get(OMIT_IF_NONE):
            continue
        out[field.name] = _plain(value)
    return out


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_dict(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
