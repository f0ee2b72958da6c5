"""What the operating inline detector misses, per defect type: prints figures, writes nothing.

Scores the test split and, where given, an independent reference set (a folder in the dataset
layout, e.g. the resolution study's ``benchmarks/out/resolution_study/reference-777-150-150``)
with the packaged operating detector (``pipeline.detector.operating_detector``), then prints per
set: AUROC overall and per defect type, the normal images' score quantiles, and each type's
defective median score with the generator's median size and contrast. With ``--list TYPE`` it
lists that type's test images by size (form, contrast, size, score, and whether the operating
threshold rejects it), so a gap to the detectability ceiling can be read image by image: which
sizes and contrasts the detector does not see.

Reading only: the test split chooses nothing here (the figures explain a gap that the
evaluation already reports); no file is written.

    python benchmarks/misses_by_type.py \\
        --reference benchmarks/out/resolution_study/reference-777-150-150 --list contamination
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from pipeline.data.images import load_stack
from pipeline.data.manifest import ManifestRow, read_manifest
from pipeline.data.splits import read_splits, rows_in_split
from pipeline.detector import operating_detector
from pipeline.models.thresholds import Threshold
from pipeline.runtime import configure_logging


def scored(detector, folder: Path, rows: list[ManifestRow]) -> np.ndarray:
    """(N,) served inline scores of ``rows``' images."""
    return np.asarray(detector.score(load_stack(folder, rows)).scores, dtype=float)


def number(text: str | float | None) -> float:
    """A manifest figure as a float (nan where the row has none)."""
    return float(text) if text not in ("", None) else float("nan")


def summary(name: str, scores: np.ndarray, rows: list[ManifestRow]) -> None:
    """Prints AUROC overall and per type, normal quantiles, defective medians."""
    labels = np.array([row.label for row in rows])
    types = np.array([row.defect_type for row in rows])
    normal = scores[labels == 0]
    q50, q90, q99 = np.quantile(normal, [0.5, 0.9, 0.99])
    print(f"{name}: AUROC {roc_auc_score(labels, scores):.3f}; {labels.size} images")
    print(f"  normal scores ({normal.size}): median {q50:.3f}, q90 {q90:.3f}, q99 {q99:.3f}")
    for kind in sorted(set(types[labels == 1])):
        keep = (labels == 0) | (types == kind)
        of_kind = [row for row in rows if row.defect_type == kind]
        sizes = [number(row.defect_size) for row in of_kind]
        contrasts = [number(row.defect_contrast) for row in of_kind]
        print(
            f"  {kind:16s} AUROC {roc_auc_score(labels[keep], scores[keep]):.3f}  "
            f"n={len(of_kind):3d}  score median {np.median(scores[types == kind]):.3f}  "
            f"size median {np.nanmedian(sizes):.2f} {of_kind[0].defect_size_unit}  "
            f"contrast median {np.nanmedian(contrasts):.1f}"
        )


def listing(kind: str, scores: np.ndarray, rows: list[ManifestRow], threshold: Threshold) -> None:
    """Prints every image of ``kind`` by size, with its score and the operating decision."""
    rejected = threshold.rejects(scores)
    picked = sorted(
        (index for index, row in enumerate(rows) if row.defect_type == kind),
        key=lambda index: number(rows[index].defect_size),
    )
    print(f"{kind} on test, by size (operating threshold {threshold.value:.3f}):")
    for index in picked:
        row = rows[index]
        decision = "REJECT" if rejected[index] else "pass (missed)"
        print(
            f"  {row.defect_form or '-':9s} contrast {number(row.defect_contrast):5.1f}  "
            f"size {number(row.defect_size):6.2f} {row.defect_size_unit}  "
            f"score {scores[index]:.3f}  {decision}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--splits", type=Path, default=Path("artifacts/prepare/splits.csv"))
    parser.add_argument("--models", type=Path, default=Path("artifacts/train"))
    parser.add_argument("--calibration", type=Path, default=Path("artifacts/calibrate"))
    parser.add_argument("--reference", type=Path, default=None, help="a labelled dataset folder")
    parser.add_argument("--list", dest="kind", default=None, help="list this type's test images")
    args = parser.parse_args(argv)
    configure_logging()
    detector = operating_detector("inline", args.models, args.calibration, batch_size=32)
    rows = rows_in_split(read_manifest(args.data), read_splits(args.splits), "test")
    scores = scored(detector, args.data, rows)
    summary("test split", scores, rows)
    if args.reference is not None:
        reference = read_manifest(args.reference)
        summary(
            f"reference set {args.reference.name}",
            scored(detector, args.reference, reference),
            reference,
        )
    if args.kind:
        listing(args.kind, scores, rows, detector.threshold)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
