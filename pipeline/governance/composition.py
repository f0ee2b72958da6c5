"""Composition of each split (class and defect-type balance) and label confounding.

One row per split, plus ``dataset`` for every listed image, so representativeness and bias
checks are single-column expectations on a small table. Two acquisition conditions are compared
with the label: the capture date and the view tag (SSI's tag 20 is good-only).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pipeline.data.splits import SPLIT_NAMES

DATASET_ROW = "dataset"
# Facts column -> composition column of its Cramér's V with the label.
CONFOUNDERS = {"capture_date": "cramers_v", "view_tag": "view_tag_cramers_v"}


def cramers_v(counts: np.ndarray) -> float:
    """Bias-corrected Cramér's V of a contingency table (Bergsma 2013).

    Args:
        counts: non-negative counts, shape (R, C).

    Returns:
        Association in [0, 1]; NaN when the table has fewer than two non-empty rows or columns
        (no association can be measured, e.g. a split holding one class only).
    """
    table = np.asarray(counts, dtype=np.float64)
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    n = table.sum()
    rows, cols = table.shape
    if rows < 2 or cols < 2 or n < 2:
        return float("nan")
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    phi2 = float(((table - expected) ** 2 / expected).sum()) / n
    phi2_corrected = max(0.0, phi2 - (rows - 1) * (cols - 1) / (n - 1))
    rows_corrected = rows - (rows - 1) ** 2 / (n - 1)
    cols_corrected = cols - (cols - 1) ** 2 / (n - 1)
    denominator = min(rows_corrected - 1, cols_corrected - 1)
    return float(np.sqrt(phi2_corrected / denominator)) if denominator > 0 else float("nan")


def _members(table: pd.DataFrame) -> dict[str, pd.DataFrame]:
    listed = table[table["in_manifest"].astype(bool) & table["label"].isin([0, 1])]
    groups = {split: listed[listed["split"] == split] for split in SPLIT_NAMES}
    groups[DATASET_ROW] = listed
    return groups


def _by_label(members: pd.DataFrame, column: str) -> pd.DataFrame:
    counts = pd.crosstab(members[column], members["label"])
    return counts.reindex(columns=[0, 1], fill_value=0)


def _row(split: str, members: pd.DataFrame, defect_types: list[str]) -> dict[str, Any]:
    defective = members[members["label"] == 1]
    shares = defective["defect_type"].value_counts().reindex(defect_types, fill_value=0)
    rarest = str(shares.idxmin()) if len(defective) and defect_types else None
    return {
        "split": split,
        "images": len(members),
        "normal": int((members["label"] == 0).sum()),
        "defective": len(defective),
        "defective_share": len(defective) / len(members) if len(members) else np.nan,
        "min_type_share": float(shares.min()) / len(defective) if rarest else np.nan,
        "rarest_type": rarest,
        **{
            name: cramers_v(_by_label(members, column).to_numpy()) if len(members) else np.nan
            for column, name in CONFOUNDERS.items()
        },
    }


def composition_table(table: pd.DataFrame) -> pd.DataFrame:
    """Per split (and ``dataset``): counts, shares, Cramér's V of date and of view tag x label."""
    groups = _members(table)
    dataset = groups[DATASET_ROW]
    defect_types = sorted(set(dataset.loc[dataset["label"] == 1, "defect_type"]))
    return pd.DataFrame([_row(name, rows, defect_types) for name, rows in groups.items()])


def confounding_tables(
    table: pd.DataFrame, column: str = "capture_date"
) -> dict[str, dict[str, dict[str, int]]]:
    """``column`` x label counts per split (and ``dataset``): the table behind Cramér's V."""
    tables = {}
    for name, members in _members(table).items():
        if not len(members):
            continue
        counts = _by_label(members, column)
        tables[name] = {
            str(value): {"normal": int(row[0]), "defective": int(row[1])}
            for value, row in counts.iterrows()
        }
    return tables
