"""Numbers as text: every figure in a dossier is formatted here, never in a template."""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Sequence
from typing import Any

from markupsafe import Markup, escape

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


# Words a heading keeps in their proper spelling (``auroc`` -> ``AUROC``, ``ai act`` -> ``AI Act``).
ACRONYMS = {
    "ai": "AI",
    "aupr": "AUPR",
    "auroc": "AUROC",
    "ci": "CI",
    "cpu": "CPU",
    "cramers": "Cramér's",
    "cusum": "CUSUM",
    "dvc": "DVC",
    "ewma": "EWMA",
    "f1": "F1",
    "fpr": "FPR",
    "gpu": "GPU",
    "gx": "GX",
    "id": "ID",
    "iou": "IoU",
    "mae": "MAE",
    "mlflow": "MLflow",
    "mse": "MSE",
    "pod": "POD",
    "pro": "PRO",
    "psnr": "PSNR",
    "roi": "ROI",
    "sd": "SD",
    "ssim": "SSIM",
    "tpr": "TPR",
}
PHRASES = {"AI act": "AI Act", "Cramér's v": "Cramér's V"}
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ][\d:.+Z-]+)?$")


def humanize(key: Any) -> str:
    """A YAML/JSON key as a heading (``false_reject_rate`` -> ``False reject rate``, ``auroc`` ->
    ``AUROC``); a date or number used as a key stays as written (``2024-03-01``)."""
    if isinstance(key, datetime.date):
        return key.isoformat()
    text = str(key).strip()
    if ISO_DATE.match(text) or not re.search(r"[A-Za-z]", text):
        return text
    words = [ACRONYMS.get(w.lower(), w) for w in text.replace("_", " ").replace("-", " ").split()]
    heading = " ".join(words)
    heading = heading[:1].upper() + heading[1:]
    for phrase, proper in PHRASES.items():
        heading = heading.replace(phrase, proper)
    return heading


def fmt_value(value: Any) -> str:
    """Any YAML/JSON value for a table cell, rendered by type: numbers at fixed significance,
    dates as ISO dates, short scalar lists inline, longer lists as bullet lists and mappings as
    small tables (HTML ``Markup``), never a Python ``repr``."""
    if isinstance(value, float):
        return fmt_sig(value, 4)
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, dict):
        return _mapping_html(value) if value else "none"
    if isinstance(value, list | tuple):
        return _list_html(list(value))
    return fmt(value)


def _list_html(values: list[Any]) -> str:
    if not values:
        return "none"
    if all(not isinstance(v, dict | list | tuple) for v in values) and len(values) <= 6:
        return escape(", ".join(str(fmt_value(v)) for v in values))
    return Markup('<ul class="cell">{}</ul>').format(
        Markup("").join(Markup("<li>{}</li>").format(fmt_value(v)) for v in values)
    )


def _mapping_html(mapping: dict[Any, Any]) -> str:
    """A mapping of like mappings is a grid (outer keys as rows), any other a key/value table."""
    inner = [v for v in mapping.values() if isinstance(v, dict)]
    columns = list(dict.fromkeys(k for v in inner for k in v))
    scalar = all(not isinstance(x, dict | list) for v in inner for x in v.values())
    if len(inner) == len(mapping) and scalar and len(columns) <= 6:
        head = Markup("").join(Markup("<th>{}</th>").format(humanize(c)) for c in ["", *columns])
        body = Markup("").join(
            Markup("<tr><th>{}</th>{}</tr>").format(
                humanize(k),
                Markup("").join(
                    Markup('<td class="num">{}</td>').format(fmt_value(v.get(c))) for c in columns
                ),
            )
            for k, v in mapping.items()
        )
        return Markup(
            '<table class="cell"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>'
        ).format(head, body)
    rows = Markup("").join(
        Markup("<tr><th>{}</th><td>{}</td></tr>").format(humanize(k), fmt_value(v))
        for k, v in mapping.items()
    )
    return Markup('<table class="cell"><tbody>{}</tbody></table>').format(rows)
