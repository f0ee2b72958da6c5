"""The synthetic SSI-like stand-in dataset: capture events, twin views, masks, manifest.

Every capture event draws its pouch (and defect) from a generator seeded by (seed, event
index) and every view from (seed, event index, view), so an image depends only on the params
and its index, never on generation order, and the same params give byte-identical files.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage
from tqdm import tqdm

from pipeline import __version__
from pipeline.config.base import ParamsError
from pipeline.config.synth import DEFECT_TYPES, Params
from pipeline.data.defect_truth import NO_OVERRIDE, DefectTruth, Override
from pipeline.data.defects import Rendered, apply_defect
from pipeline.data.images import row_file
from pipeline.data.manifest import (
    IMAGES_DIR,
    MANIFEST_NAME,
    MASKS_DIR,
    NO_DEFECT_TRUTH,
    ManifestRow,
    read_manifest,
    staged_dataset,
    write_dataset_info,
    write_manifest,
)
from pipeline.data.seal_texture import (
    Pouch,
    apply_view,
    jitter_view,
    sample_placement,
    sample_pouch,
)
from pipeline.provenance import sha256_file

log = logging.getLogger(__name__)

GENERATOR_VERSION = "1.1.0"  # 1.1.0: defect ground truth in the manifest (images unchanged)
LICENCE = "CC0-1.0 (generated)"
VIEW_TAGS = ("12", "23")
SUBTLE_SEVERITY = 0.1  # subtle defects draw severity in [0, 0.1], the others in [0.1, 1]
DAY_START_S = 6 * 3600
DAY_LENGTH_S = 16 * 3600
_TIMELINE_STREAM = 2**31  # keeps the timeline generator apart from every event index
_MAX_DEFECT_TRIES = 10


@dataclass(frozen=True)
class Event:
    """One capture event: a pouch photographed in ``views_per_event`` twin views."""

    index: int
    label: int
    defect_type: str
    timestamp: dt.datetime

    @property
    def cls(self) -> str:
        """Class word used in ids, as SSI's folder names: ``good`` or ``defect``."""
        return "defect" if self.label else "good"

    @property
    def capture_event(self) -> str:
        """Group id shared by twin views: ``<class>_<YYYYMMDD>_<HHMMSS>``."""
        return f"{self.cls}_{self.timestamp:%Y%m%d_%H%M%S}"

    def image_id(self, view_tag: str) -> str:
        """SSI-like file stem, e.g. ``good-12_20240301_081500``."""
        return f"{self.cls}-{view_tag}_{self.timestamp:%Y%m%d_%H%M%S}"


def plan_events(params: Params) -> list[Event]:
    """Normal events first, then defective ones with types cycling evenly, each timestamped."""
    kinds = ["none"] * params.n_normal_events
    kinds += [
        params.defect_types[k % len(params.defect_types)] for k in range(params.n_defect_events)
    ]
    labels = [0] * params.n_normal_events + [1] * params.n_defect_events
    stamps = timeline(params, labels)
    return [Event(i, labels[i], kinds[i], stamps[i]) for i in range(len(labels))]


def timeline(params: Params, labels: list[int]) -> list[dt.datetime]:
    """Capture timestamps of events with these labels (0 normal, 1 defective), in order."""
    # Each class's k-th event goes to day k % capture_days, so neither class owns a date (SSI's
    # defects all share one date: a confound we must not copy); order within a day is shuffled.
    start = dt.datetime.combine(dt.date.fromisoformat(params.start_date), dt.time())
    rng = np.random.default_rng([params.seed, _TIMELINE_STREAM])
    per_class = {0: 0, 1: 0}
    days: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        days.setdefault(per_class[label] % params.capture_days, []).append(index)
        per_class[label] += 1
    stamps: list[dt.datetime] = [start] * len(labels)
    for day, members in sorted(days.items()):
        spacing = DAY_LENGTH_S // len(members)
        for slot, position in enumerate(rng.permutation(len(members))):
            offset = DAY_START_S + slot * spacing + int(rng.integers(0, max(spacing // 2, 1)))
            stamps[members[position]] = start + dt.timedelta(days=day, seconds=offset)
    return stamps


Views = list[tuple[np.ndarray, np.ndarray | None]]


def render_event(params: Params, event: Event) -> tuple[Views, DefectTruth | None]:
    """Render the views of one event and the defect's ground truth (None for a normal event).

    Returns:
        A list of (image (H, W) uint8, mask (H, W) bool or None), one per view, and the truth.
    """
    rng = np.random.default_rng([params.seed, event.index])
    pouch = sample_pouch(rng, params)
    image, mask, truth = pouch.image, None, None
    if event.label:
        subtle = rng.random() < params.subtle_share
        severities = (0.0, SUBTLE_SEVERITY) if subtle else (SUBTLE_SEVERITY, 1.0)
        image, mask, truth = draw_defect(event.defect_type, pouch, rng, severities)
    return render_views(params, event.index, rng, image, mask), truth


def draw_defect(
    kind: str,
    pouch: Pouch,
    rng: np.random.Generator,
    severities: tuple[float, float],
    override: Override = NO_OVERRIDE,
) -> Rendered:
    """Draw a defect, redrawing (severity included) until its mask is not empty."""
    for _ in range(_MAX_DEFECT_TRIES):
        image, mask, truth = apply_defect(kind, pouch, rng, rng.uniform(*severities), override)
        if mask.any():
            break
    return image, mask, truth


def render_views(
    params: Params, index: int, rng: np.random.Generator, image: np.ndarray, mask: np.ndarray | None
) -> Views:
    """Place one pouch image (and mask) in each twin view of event ``index``."""
    placement = sample_placement(rng, params)
    views = []
    for view_index in range(params.views_per_event):
        view_rng = np.random.default_rng([params.seed, index, view_index])
        view = jitter_view(view_rng, placement, params.nuisance)
        pixels, placed = apply_view(image, mask, view, view_rng, params.nuisance.sensor_noise)
        if placed is not None and not placed.any():
            raise RuntimeError(f"event {index}: defect mask left the frame; widen X_MARGIN")
        views.append((pixels, placed))
    return views


def save_png(pixels: np.ndarray, path: Path) -> None:
    """Write an 8-bit single-channel PNG with fixed options (no timestamps, same bytes)."""
    Image.fromarray(pixels, mode="L").save(path, format="PNG", compress_level=6)


def _write_event(params: Params, event: Event, root: Path) -> list[ManifestRow]:
    views, truth = render_event(params, event)
    return write_event(params, event, views, truth, root, source="synthetic")


def write_event(
    params: Params,
    event: Event,
    views: Views,
    truth: DefectTruth | None,
    root: Path,
    source: str,
) -> list[ManifestRow]:
    """Save the views of one event under ``root`` and return their manifest rows."""
    rows = []
    for view_index, (pixels, mask) in enumerate(views):
        image_id = event.image_id(VIEW_TAGS[view_index])
        image_index = event.index * params.views_per_event + view_index
        image_path = f"{IMAGES_DIR}/{image_id}.png"
        save_png(pixels, root / image_path)
        mask_path = ""
        if mask is not None:
            mask_path = f"{MASKS_DIR}/{image_id}.png"
            save_png(mask.astype(np.uint8) * 255, root / mask_path)
        rows.append(
            ManifestRow(
                image_id=image_id,
                image_path=image_path,
                mask_path=mask_path,
                sha256=sha256_file(root / image_path),
                label=event.label,
                defect_type=event.defect_type,
                view_tag=VIEW_TAGS[view_index],
                capture_event=event.capture_event,
                capture_date=f"{event.timestamp:%Y-%m-%d}",
                capture_time=f"{event.timestamp:%H:%M:%S}",
                source_file=f"{source}:{params.seed}:{image_index}",
                height=params.image_height,
                width=params.image_width,
                **(truth.columns() if truth else NO_DEFECT_TRUTH),
            )
        )
    return rows


def dataset_info(params: Params) -> dict[str, Any]:
    """Identity of a generated dataset; no wall-clock time, so it is byte-stable."""
    return {
        "source": "synthetic",
        "licence": LICENCE,
        "params": asdict(params),
        "seed": params.seed,
        "image_height": params.image_height,
        "image_width": params.image_width,
        "generator": {"name": __name__, "version": GENERATOR_VERSION},
        "created_by": f"sealaudit {__version__}",
    }


def generate_dataset(params: Params, out: Path, force: bool = False) -> None:
    """Write the synthetic dataset in the canonical layout under ``out``.

    Raises:
        ParamsError: ``params`` fail validation.
        DatasetError: ``out`` already holds a dataset and ``force`` is false.
    """
    try:
        params.validate()
    except ValueError as error:
        raise ParamsError(f"synth params: {error}") from error
    events = plan_events(params)
    started = time.perf_counter()
    with staged_dataset(Path(out), force=force) as staging:
        rows: list[ManifestRow] = []
        for event in tqdm(events, desc="synth", unit="event", disable=None):
            rows.extend(_write_event(params, event, staging))
        write_manifest(rows, staging / MANIFEST_NAME)
        write_dataset_info(dataset_info(params), staging)
    log.info(
        "generated %d images (%d events) in %.1f s",
        len(rows),
        len(events),
        time.perf_counter() - started,
    )


def write_contact_sheet(data_dir: Path, out_png: Path, normals: int = 4, per_type: int = 2) -> None:
    """Write a PNG grid of normal and defective images with mask outlines (a review aid).

    Picks ``normals`` normal images and ``per_type`` images of each defect type, spread over
    the manifest; each tile is labelled with its defect type and image id, and the mask is
    outlined in red just outside its pixels so the defect itself stays visible.
    """
    data_dir = Path(data_dir)
    rows = [row for row in read_manifest(data_dir) if row.view_tag == VIEW_TAGS[0]]
    picks = _spread([row for row in rows if row.label == 0], normals)
    kinds = {row.defect_type for row in rows if row.label == 1}
    known = [kind for kind in DEFECT_TYPES if kind in kinds]
    for kind in known + sorted(kinds - set(known)):
        picks += _spread([row for row in rows if row.defect_type == kind], per_type)
    tiles = [_sheet_tile(data_dir, row) for row in picks]
    columns = 2
    tile_w, tile_h = tiles[0].size
    sheet = Image.new(
        "RGB", (columns * (tile_w + 4), -(-len(tiles) // columns) * (tile_h + 4)), "white"
    )
    for position, tile in enumerate(tiles):
        sheet.paste(
            tile, ((position % columns) * (tile_w + 4), (position // columns) * (tile_h + 4))
        )
    Path(out_png).parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out_png, format="PNG")
    log.info("contact sheet with %d tiles written to %s", len(tiles), out_png)


def _spread(rows: list[ManifestRow], count: int) -> list[ManifestRow]:
    if not rows:
        return []
    positions = np.linspace(0, len(rows) - 1, min(count, len(rows))).round().astype(int)
    return [rows[p] for p in positions]


def _sheet_tile(data_dir: Path, row: ManifestRow) -> Image.Image:
    with Image.open(row_file(data_dir, row, "image_path")) as image:
        rgb = np.stack([np.asarray(image.convert("L"))] * 3, axis=-1)
    if row.mask_path:
        with Image.open(row_file(data_dir, row, "mask_path")) as mask_file:
            mask = np.asarray(mask_file) > 127
        ring = ndimage.binary_dilation(mask, iterations=2) & ~ndimage.binary_dilation(mask)
        rgb[ring] = (255, 40, 40)
    tile = Image.new("RGB", (rgb.shape[1], rgb.shape[0] + 14), "white")
    tile.paste(Image.fromarray(rgb), (0, 14))
    ImageDraw.Draw(tile).text((2, 1), f"{row.defect_type}  {row.image_id}", fill=(0, 0, 0))
    return tile
