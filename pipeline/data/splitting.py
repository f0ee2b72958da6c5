"""Group-aware, seeded split assignment (pure: rows in, image_id -> split out).

A capture event (twin views of one pouch) is the unit of assignment, so the two views of a pouch
can never land on both sides of a split, the leakage found in the official SSI revisions.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from pipeline.data.manifest import DatasetError, ManifestRow


@dataclass(frozen=True)
class SplitPlan:
    """Image counts wanted per split (see pipeline.config.prepare.Params)."""

    test_per_class: int
    val_normal: int
    val_normal_max_share: float
    val_defect_share: float
    stream_size: int
    stream_defect_share: float

    def val_normal_count(self, pool: int) -> int:
        """Normal images for val out of ``pool`` normal images left for val and train.

        ``val_normal``, capped at ``val_normal_max_share`` of the pool, so a small dataset
        keeps most of its normal images for training (at least one goes to val).
        """
        return min(self.val_normal, max(1, int(self.val_normal_max_share * pool)))


def group_events(rows: list[ManifestRow], label: int) -> dict[str, list[str]]:
    """Capture event -> image ids, for events of one label; mixed-label events are errors."""
    labels: dict[str, set[int]] = defaultdict(set)
    members: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        labels[row.capture_event].add(row.label)
        members[row.capture_event].append(row.image_id)
    mixed = sorted(event for event, seen in labels.items() if len(seen) > 1)
    if mixed:
        raise DatasetError(
            f"manifest.csv: capture event(s) {mixed[:3]} mix normal and defective images; "
            "fix the labels or the capture_event column"
        )
    return {e: sorted(ids) for e, ids in sorted(members.items()) if labels[e] == {label}}


def _take(events: list[str], members: dict[str, list[str]], n_images: int, what: str) -> list[str]:
    """Pop whole events from the front of ``events`` until ``n_images`` images are taken."""
    taken: list[str] = []
    while len(taken) < n_images:
        if not events:
            raise DatasetError(
                f"dataset too small: needed {n_images} images for {what}, found {len(taken)}; "
                "lower the counts in params.yaml `prepare` or generate/import more images"
            )
        taken.extend(members[events.pop(0)])
    return taken


def defect_count(n_normal: int, share: float) -> int:
    """Defective images needed beside ``n_normal`` normal ones for a defect ``share``."""
    return round(n_normal * share / (1.0 - share)) if share > 0 else 0


def assign_random(rows: list[ManifestRow], plan: SplitPlan, seed: int) -> dict[str, str]:
    """Seeded group-aware assignment; normal events left over go to ``train``."""
    rng = np.random.default_rng(seed)
    normal = group_events(rows, label=0)
    defect = group_events(rows, label=1)
    normal_order = [str(e) for e in rng.permutation(sorted(normal))]
    defect_order = [str(e) for e in rng.permutation(sorted(defect))]
    assignment: dict[str, str] = {}
    n_stream_defect = round(plan.stream_size * plan.stream_defect_share)
    n_stream_normal = plan.stream_size - n_stream_defect
    for order, members in ((normal_order, normal), (defect_order, defect)):
        for image_id in _take(order, members, plan.test_per_class, "split 'test'"):
            assignment[image_id] = "test"
    pool = sum(len(normal[event]) for event in normal_order) - n_stream_normal
    n_val = plan.val_normal_count(pool)
    wanted = [
        ("val", normal_order, normal, n_val),
        ("val", defect_order, defect, defect_count(n_val, plan.val_defect_share)),
        ("stream", normal_order, normal, n_stream_normal),
        ("stream", defect_order, defect, n_stream_defect),
    ]
    for split, order, members, count in wanted:
        for image_id in _take(order, members, count, f"split '{split}'"):
            assignment[image_id] = split
    for event in normal_order:
        for image_id in normal[event]:
            assignment[image_id] = "train"
    if not any(split == "train" for split in assignment.values()):
        raise DatasetError(
            "dataset too small: no normal image left for training; lower test_per_class or "
            "val_normal in params.yaml `prepare`"
        )
    return assignment


def assign_official(
    rows: list[ManifestRow], official: dict[str, str], plan: SplitPlan, seed: int
) -> dict[str, str]:
    """The authors' revision: their test set as ``test``; their training set split by group.

    Normal training events go to ``val`` until ``SplitPlan.val_normal_count`` images, the rest
    to ``train``; defective training images go to ``val`` up to the configured defect share.
    Any leakage the official lists carry is kept as published and reported by ``validate_data``.
    """
    rng = np.random.default_rng(seed)
    in_train = [row for row in rows if official.get(row.image_id) == "train"]
    assignment = {row.image_id: "test" for row in rows if official.get(row.image_id) == "test"}
    normal = group_events(in_train, label=0)
    defect = group_events(in_train, label=1)
    normal_order = [str(e) for e in rng.permutation(sorted(normal))]
    defect_order = [str(e) for e in rng.permutation(sorted(defect))]
    n_val = plan.val_normal_count(sum(map(len, normal.values())))
    for image_id in _take(normal_order, normal, n_val, "split 'val'"):
        assignment[image_id] = "val"
    n_defect = min(defect_count(n_val, plan.val_defect_share), sum(map(len, defect.values())))
    for image_id in _take(defect_order, defect, n_defect, "split 'val'"):
        assignment[image_id] = "val"
    for event in normal_order:
        for image_id in normal[event]:
            assignment[image_id] = "train"
    return assignment
