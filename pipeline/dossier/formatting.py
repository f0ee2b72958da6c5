"""Numbers as text: every figure in a dossier is formatted here, never in a template."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

NOT_RECORDED = "not recorded"


def fmt(value: Any, digits: int = 3) -> str:
    """A metric with fixed decimals (``0.977``); integers stay integers; None -> not recorded."""
    if value is None:
        return NOT_RECORDED
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        return f"{value:.{digits}f}"
    return str(value)


def fmt_sig(value: Any, significant: int = 4) -> str:
    """A score or threshold whose scale varies (``0.04217``, ``312.5``) with significant digits."""
    if not isinstance(value, float):
        return fmt(value)
    if value == 0:
        return "0"
    return f"{value:.{significant}g}"


def fmt_ci(interval: Sequence[float] | None, digits: int = 3) -> str:
    """A 95 % interval as ``[0.951, 0.992]``."""
    if not interval or len(interval) != 2:
        return NOT_RECORDED
    low, high = interval
    return f"[{fmt(float(low), digits)}, {fmt(float(high), digits)}]"


def fmt_pct(value: Any, digits: int = 1) -> str:
    """A proportion as a percentage (``0.0278`` -> ``2.8 %``)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return fmt(value)
    return f"{100.0 * value:.{digits}f} %"


def fmt_pct_ci(interval: Sequence[float] | None, digits: int = 1) -> str:
    """A 95 % interval of a proportion in percent (``[1.1, 6.4] %``)."""
    if not interval or len(interval) != 2:
        return NOT_RECORDED
    low, high = (100.0 * float(v) for v in interval)
    return f"[{low:.{digits}f}, {high:.{digits}f}] %"


def fmt_signed(value: float | None, digits: int = 3) -> str:
    """A change with its sign (``+0.012``, ``−0.034``; a true minus sign for print)."""
    if value is None:
        return NOT_RECORDED
    text = f"{value:+.{digits}f}"
    return text.replace("-", "\u2212")


def humanize(key: str) -> str:
    """A YAML/JSON key as a heading (``false_reject_rate`` -> ``False reject rate``)."""
    words = str(key).replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:]


def fmt_value(value: Any) -> str:
    """Any scalar or short list as text, for generic key/value tables."""
    if isinstance(value, float):
        return fmt_sig(value, 6)
    if isinstance(value, list | tuple):
        return ", ".join(fmt_value(v) for v in value) if value else "none"
    if isinstance(value, dict):
        return "; ".join(f"{humanize(k)}: {fmt_value(v)}" for k, v in value.items())
    return fmt(value)
