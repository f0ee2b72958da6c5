"""Facts about leakage between splits: shared capture events, identical and near-identical images.

GX asserts one column at a time, so relations between rows (twin views in two splits, a copy of
one image in another split) are first reduced here to per-image columns that a single
expectation can check and whose failing rows name both files.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pipeline.governance.facts import UNASSIGNED
from pipeline.governance.perceptual import nearest_in_other_group


def _assigned(table: pd.DataFrame) -> pd.Series:
    return table["in_manifest"].astype(bool) & (table["split"] != UNASSIGNED)


def add_event_splits(table: pd.DataFrame) -> pd.DataFrame:
    """``capture_event_splits`` ("test/train") and its count, per assigned image."""
    assigned = table[_assigned(table)]
    splits = assigned.groupby("capture_event")["split"].agg(lambda s: "/".join(sorted(set(s))))
    out = table.copy()
    out["capture_event_splits"] = out["capture_event"].map(splits).where(_assigned(out))
    out["capture_event_split_count"] = [
        s.count("/") + 1 if isinstance(s, str) else np.nan for s in out["capture_event_splits"]
    ]
    return out


def add_identical(table: pd.DataFrame) -> pd.DataFrame:
    """``identical_to``: the other images whose file bytes are the same (sha256 of the file)."""
    out = table.copy()
    known = out[out["sha256_actual"].notna()]
    members = known.groupby("sha256_actual")["image_id"].agg(list)
    others = [
        sorted(set(members.get(digest, [])) - {image_id}) if isinstance(digest, str) else None
        for image_id, digest in zip(out["image_id"], out["sha256_actual"], strict=True)
    ]
    out["identical_to"] = [", ".join(o) if o is not None else None for o in others]
    out["identical_count"] = [len(o) if o is not None else np.nan for o in others]
    return out


def add_near_duplicates(table: pd.DataFrame) -> pd.DataFrame:
    """The perceptually nearest image in another split and its dHash distance (bit fraction)."""
    out = table.copy()
    valid = out["dhash"].notna().to_numpy() & _assigned(out).to_numpy()
    width = max((len(h) for h in out["dhash"] if isinstance(h, str)), default=0)
    if width == 0:
        out["nearest_other_split_image"] = None
        out["nearest_other_split_distance"] = np.nan
        return out
    filler = "0" * width  # rows without a hash are excluded by ``valid``
    packed = np.array(
        [
            np.frombuffer(bytes.fromhex(h if isinstance(h, str) else filler), np.uint8)
            for h in out["dhash"]
        ]
    )
    bits = np.unpackbits(packed, axis=1).astype(bool)
    groups = np.where(valid, out["split"].astype(str).to_numpy(), "")
    index, distance = nearest_in_other_group(bits, groups, valid)
    ids = out["image_id"].to_numpy()
    out["nearest_other_split_image"] = [
        f"{ids[j]} ({groups[j]})" if j >= 0 else None for j in index
    ]
    out["nearest_other_split_distance"] = distance
    return out


def add_split_facts(table: pd.DataFrame) -> pd.DataFrame:
    """All leakage columns (see the ``add_*`` functions)."""
    return add_near_duplicates(add_identical(add_event_splits(table)))


def leakage_summary(table: pd.DataFrame, near_threshold: float) -> dict[str, Any]:
    """Counts for the evidence: straddling events, identical and near-identical pairs."""
    straddling = table[table["capture_event_split_count"].fillna(0) > 1]
    identical = int(table["identical_count"].fillna(0).sum()) // 2
    near = table["nearest_other_split_distance"].fillna(np.inf) <= near_threshold
    return {
        "capture_events_across_splits": int(straddling["capture_event"].nunique()),
        "images_in_straddling_events": len(straddling),
        "identical_image_pairs": identical,
        "images_with_near_duplicate_in_other_split": int(near.sum()),
    }
