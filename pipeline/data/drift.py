"""Production-like lots with a gradual process drift, for the monitoring mode.

Lots ``L000, L001, ...`` are rendered with the normal seal-band renderer. From lot index
``drift_start_lot`` on, the process shifts: the drift magnitude grows linearly by lot and
reaches 1 at the last lot. At magnitude 1 the band is 35 % narrower (``band_narrowing``), the
image 35 % darker (``brightness``) or the web outside the seal carries about six dust specks
per image (``contamination``). A drifting image is not a defective one: only ``defect_rate``
injects seal defects, labelled in ``lots.csv``.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
import logging
from pathlib import Path

import numpy as np
from tqdm import tqdm

from pipeline.config.synth import DEFECT_TYPES, Params
from pipeline.data.defect_truth import DefectTruth
from pipeline.data.defects import apply_defect, particle_footprint
from pipeline.data.manifest import NO_DEFECT_TRUTH, TRUTH_COLUMNS, DatasetError, truth_cells
from pipeline.data.seal_texture import Pouch, apply_view, sample_placement, sample_pouch
from pipeline.data.synthetic import GENERATOR_VERSION, save_png
from pipeline.errors import SealauditError

log = logging.getLogger(__name__)

DRIFTS = ("none", "band_narrowing", "brightness", "contamination")
FULL_SCALE = {"band_narrowing": 0.35, "brightness": 0.35, "contamination": 6.0}
LOTS_CSV = "lots.csv"
LOTS_JSON = "lots.json"
LOTS_COLUMNS = (
    "file",
    "lot_id",
    "timestamp",
    "drift_magnitude",
    "label",
    "defect_type",
    *TRUTH_COLUMNS,
)
FIRST_LOT = dt.datetime(2024, 4, 1, 6, 0, 0)
SHIFT_S = 16 * 3600
_LOT_STREAM = 2**31 + 1  # apart from the dataset generator's streams
_DUST_STREAM = 2**31 + 2  # dust has its own generator so a drift leaves everything else as-is


def drift_magnitude(lot: int, n_lots: int, drift_start_lot: int, drift: str) -> float:
    """0 for in-control lots, then (lot - start + 1) / (n_lots - start): 1 at the last lot."""
    if drift == "none" or lot < drift_start_lot:
        return 0.0
    return (lot - drift_start_lot + 1) / (n_lots - drift_start_lot)


def _check(
    n_lots: int, images_per_lot: int, drift_start_lot: int, drift: str, defect_rate: float
) -> None:
    if drift not in DRIFTS:
        raise SealauditError(f"drift {drift!r} unknown; choose from {list(DRIFTS)}")
    if n_lots < 1 or not 1 <= images_per_lot <= SHIFT_S:
        raise SealauditError(f"need n_lots >= 1 and 1 <= images_per_lot <= {SHIFT_S}")
    if not 0 <= drift_start_lot <= n_lots:
        raise SealauditError("drift_start_lot must be within [0, n_lots] (a lot index)")
    if not 0.0 <= defect_rate <= 1.0:
        raise SealauditError("defect_rate must be within [0, 1]")


def generate_lots(
    out_dir: Path,
    synth: Params,
    n_lots: int,
    images_per_lot: int,
    drift_start_lot: int,
    drift: str,
    seed: int,
    defect_rate: float = 0.0,
) -> Path:
    """Write lot images ``<lot_id>_<YYYYMMDD>_<HHMMSS>_<n>.png`` and ``lots.csv`` to out_dir.

    ``synth``: the loaded ``synth`` params section (image size, band, nuisance); ``seed``
    replaces its seed, so each stream is drawn independently of the stored dataset.

    Returns:
        The path of ``lots.csv`` (columns file, lot_id, timestamp, drift_magnitude, label,
        defect_type and the manifest's defect_* ground truth, empty for sound seals; one row
        per image, in capture order).

    Raises:
        SealauditError: an argument is out of range, or out_dir already holds lots.
    """
    _check(n_lots, images_per_lot, drift_start_lot, drift, defect_rate)
    params = dataclasses.replace(synth, seed=seed)
    try:
        params.validate()
    except ValueError as error:
        raise SealauditError(f"generate_lots: {error}") from error
    out_dir = Path(out_dir)
    if (out_dir / LOTS_CSV).exists():
        raise DatasetError(f"{out_dir / LOTS_CSV}: lots already written; choose an empty folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    spacing = SHIFT_S // images_per_lot
    rows = []
    for lot in tqdm(range(n_lots), desc="lots", unit="lot", disable=None):
        magnitude = drift_magnitude(lot, n_lots, drift_start_lot, drift)
        lot_id = f"L{lot:03d}"
        for n in range(images_per_lot):
            stamp = FIRST_LOT + dt.timedelta(days=lot, seconds=n * spacing)
            name = f"{lot_id}_{stamp:%Y%m%d_%H%M%S}_{n:04d}.png"
            pixels, kind, truth = _render(params, lot, n, drift, magnitude, defect_rate)
            save_png(pixels, out_dir / name)
            label = int(kind != "none")
            cells = truth_cells(truth.columns() if truth else NO_DEFECT_TRUTH)
            rows.append(
                (name, lot_id, stamp.isoformat(), f"{magnitude:.4f}", label, kind, *cells.values())
            )
    path = out_dir / LOTS_CSV
    _write_csv(rows, path)
    _write_info(out_dir, params, n_lots, images_per_lot, drift_start_lot, drift, defect_rate)
    log.info("%d lots x %d images (%s drift from lot %d) in %s", n_lots, images_per_lot, drift,
             drift_start_lot, out_dir)  # fmt: skip
    return path


def _render(
    params: Params, lot: int, n: int, drift: str, magnitude: float, defect_rate: float
) -> tuple[np.ndarray, str, DefectTruth | None]:
    """One lot image (H, W) uint8, its defect type ("none" for a sound seal) and truth."""
    rng = np.random.default_rng([params.seed, _LOT_STREAM, lot, n])
    narrowing = FULL_SCALE["band_narrowing"] * magnitude if drift == "band_narrowing" else 0.0
    pouch = sample_pouch(rng, params, band_scale=1.0 - narrowing)
    image, kind, truth = pouch.image, "none", None
    if rng.random() < defect_rate:
        kind = DEFECT_TYPES[int(rng.integers(len(DEFECT_TYPES)))]
        image, _, truth = apply_defect(kind, pouch, rng, float(rng.uniform(0, 1)))
    if drift == "contamination" and magnitude > 0:
        dust_rng = np.random.default_rng([params.seed, _DUST_STREAM, lot, n])
        image = _add_dust(image, pouch, dust_rng, FULL_SCALE["contamination"] * magnitude)
    view = sample_placement(rng, params)
    if drift == "brightness":
        view = dataclasses.replace(
            view, gain=view.gain * (1 - FULL_SCALE["brightness"] * magnitude)
        )
    pixels, _ = apply_view(image, None, view, rng, params.nuisance.sensor_noise)
    return pixels, kind, truth


def _add_dust(image: np.ndarray, pouch: Pouch, rng: np.random.Generator, mean: float) -> np.ndarray:
    """Faint specks on the web outside the seal band (a process change, not a seal defect)."""
    image = image.copy()
    height, width = pouch.shape
    for _ in range(int(rng.poisson(mean))):
        col = rng.uniform(0.02, 0.98) * width
        top, bottom = float(pouch.top[int(col)]), float(pouch.bottom[int(col)])
        above = rng.random() < top / max(top + height - bottom, 1e-6)
        # Keep clear of the band edge by more than the largest speck radius (~3 px).
        row = rng.uniform(0, max(top - 4, 0)) if above else rng.uniform(bottom + 4, height)
        core = particle_footprint(pouch, rng, (round(row), round(col)))
        image += rng.uniform(20, 50) * (1 if rng.random() < 0.3 else -1) * core
    return image


def _write_csv(rows: list[tuple], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(LOTS_COLUMNS)
        writer.writerows(rows)


def _write_info(
    out_dir: Path,
    params: Params,
    n_lots: int,
    images_per_lot: int,
    drift_start_lot: int,
    drift: str,
    defect_rate: float,
) -> None:
    info = {
        "drift": drift,
        "drift_start_lot": drift_start_lot,
        "full_scale": FULL_SCALE.get(drift, 0.0),
        "n_lots": n_lots,
        "images_per_lot": images_per_lot,
        "defect_rate": defect_rate,
        "seed": params.seed,
        "image_height": params.image_height,
        "image_width": params.image_width,
        "generator": {"name": __name__, "version": GENERATOR_VERSION},
    }
    text = json.dumps(info, indent=2, sort_keys=True) + "\n"
    (out_dir / LOTS_JSON).write_text(text, encoding="utf-8")
