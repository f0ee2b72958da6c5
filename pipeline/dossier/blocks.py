"""Reviewed YAML text (intended use, oversight, plans) as generic blocks a template can lay out.

The dossier reads these files tolerant of their exact keys: every key becomes a heading, text
becomes paragraphs, lists become bullet items and mappings become two-column rows, so a new
key in a reviewed file shows up in the dossier instead of being dropped.
"""

from __future__ import annotations

from typing import Any

from pipeline.dossier.formatting import fmt_value, humanize

# Document-control keys shown in the document header line, not as content blocks.
CONTROL_KEYS = ("document", "revision", "schema_version", "owner", "approved_by", "effective")


def block(heading: str, value: Any) -> dict[str, Any]:
    """One block: ``{"heading", "paragraphs", "items", "rows", "table"}`` (unused ones empty)."""
    out: dict[str, Any] = {
        "heading": heading,
        "paragraphs": [],
        "items": [],
        "rows": [],
        "table": None,
    }
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        headers = list(dict.fromkeys(k for v in value for k in v))
        out["table"] = {
            "headers": [humanize(h) for h in headers],
            "rows": [[fmt_value(v.get(h, "")) for h in headers] for v in value],
        }
    elif isinstance(value, dict):
        out["rows"] = [[humanize(k), fmt_value(v)] for k, v in value.items()]
    elif isinstance(value, list | tuple):
        out["items"] = [_item_text(item) for item in value]
    elif value is None:
        out["paragraphs"] = ["(left empty in the reviewed file)"]
    else:
        out["paragraphs"] = [p.strip() for p in str(value).split("\n\n") if p.strip()]
    return out


def _item_text(item: Any) -> str:
    if isinstance(item, dict):
        return fmt_value(item)
    return fmt_value(item) if not isinstance(item, str) else item.strip()


def blocks(mapping: Any, skip: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Blocks for every top-level key of a reviewed mapping, in file order."""
    if not isinstance(mapping, dict):
        return [block("Content", mapping)]
    ignored = set(skip) | set(CONTROL_KEYS)
    return [block(humanize(key), value) for key, value in mapping.items() if key not in ignored]


def control_line(mapping: Any, path_label: str) -> str:
    """``SA-VAL-IU-001 rev 2 (validation/intended_use.yaml)`` for a reviewed file."""
    if not isinstance(mapping, dict):
        return path_label
    parts = [str(mapping[key]) for key in ("document",) if mapping.get(key)]
    if mapping.get("revision") is not None:
        parts.append(f"rev {mapping['revision']}")
    parts.append(f"({path_label})")
    return " ".join(parts)


def find_key(mapping: Any, *fragments: str) -> Any:
    """The first value whose key contains one of ``fragments`` (case-insensitive), else None."""
    if not isinstance(mapping, dict):
        return None
    for key, value in mapping.items():
        if any(fragment in str(key).lower() for fragment in fragments):
            return value
    return None
