"""The capability challenge set: defects of planned size and contrast, for POD (issue #14).

Each requirement row (a defect type, and for contamination a form) gets
``events_per_requirement`` defective capture events whose sizes are spread log-uniformly over
the generator's size range (one draw in each of that many equal slices of log size, shuffled),
with severity uniform over [0, 1]; width deviations also get a length within
``width_deviation_length_mm``. Normal events complete it. Pouches are rendered with the synth
section's settings and the challenge seed, by the generator's own code, and every event depends
only on the params and its index, so the same params give byte-identical files.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from pipeline import __version__
from pipeline.config import challenge, synth
from pipeline.config.base import ParamsError
from pipeline.data.defect_truth import SIZE_RANGES, DefectTruth, Override
from pipeline.data.manifest import (
    MANIFEST_NAME,
    ManifestRow,
    staged_dataset,
    write_dataset_info,
    write_manifest,
)
from pipeline.data.seal_texture import sample_pouch
from pipeline.data.synthetic import (
    GENERATOR_VERSION,
    LICENCE,
    Event,
    Views,
    draw_defect,
    render_views,
    timeline,
    write_event,
)

log = logging.getLogger(__name__)

SOURCE = "challenge"
ROWS = tuple(SIZE_RANGES)  # (defect type, form): one per requirement of the demo protocol
SEVERITY_RANGE = (0.0, 1.0)
_PLAN_STREAM = 2**31 + 3  # apart from the event, timeline and lot streams


@dataclass(frozen=True)
class Planned:
    """One challenge event and, if defective, the values that replace the drawn ones."""

    event: Event
    override: Override | None


@dataclass(frozen=True)
class Summary:
    """What ``generate_challenge`` wrote."""

    events: int
    normal_events: int
    defect_events: int
    images: int
    seconds: float


def render_params(synth_params: synth.Params, params: challenge.Params) -> synth.Params:
    """The synth params that render the challenge set: its seed, counts and calendar."""
    return dataclasses.replace(
        synth_params,
        seed=params.seed,
        n_normal_events=params.n_normal_events,
        n_defect_events=params.events_per_requirement * len(ROWS),
        defect_types=tuple(dict.fromkeys(kind for kind, _ in ROWS)),
        start_date=params.start_date,
        capture_days=params.capture_days,
    )


def _sizes(rng: np.random.Generator, low: float, high: float, count: int) -> np.ndarray:
    """``count`` log-uniform sizes in [low, high], one in each equal slice of log size."""
    slices = (np.arange(count) + rng.random(count)) / count
    return rng.permutation(np.exp(math.log(low) + slices * (math.log(high) - math.log(low))))


def plan_challenge(params: challenge.Params, rendering: synth.Params) -> list[Planned]:
    """Normal events first, then defective ones cycling over ``ROWS``, each timestamped."""
    rng = np.random.default_rng([params.seed, _PLAN_STREAM])
    count = params.events_per_requirement
    overrides = {}
    for kind, form in ROWS:
        lengths = [None] * count
        if kind == "width_deviation":
            lengths = rng.uniform(*params.width_deviation_length_mm, count).tolist()
        sizes = _sizes(rng, *SIZE_RANGES[kind, form], count).tolist()
        overrides[kind, form] = [
            Override(size=size, form=form or None, length_mm=length)
            for size, length in zip(sizes, lengths, strict=True)
        ]
    plan: list[tuple[str, Override | None]] = [("none", None)] * params.n_normal_events
    for rank in range(count):
        plan += [(kind, overrides[kind, form][rank]) for kind, form in ROWS]
    labels = [int(override is not None) for _, override in plan]
    stamps = timeline(rendering, labels)
    return [
        Planned(Event(index, labels[index], kind, stamps[index]), override)
        for index, (kind, override) in enumerate(plan)
    ]


def render_planned(rendering: synth.Params, planned: Planned) -> tuple[Views, DefectTruth | None]:
    """Render one challenge event's views and its defect's ground truth."""
    event = planned.event
    rng = np.random.default_rng([rendering.seed, event.index])
    pouch = sample_pouch(rng, rendering)
    image, mask, truth = pouch.image, None, None
    if planned.override is not None:
        image, mask, truth = draw_defect(
            event.defect_type, pouch, rng, SEVERITY_RANGE, planned.override
        )
    return render_views(rendering, event.index, rng, image, mask), truth


def generate_challenge(
    synth_params: synth.Params, params: challenge.Params, out: Path, force: bool = False
) -> Summary:
    """Write the challenge set in the canonical layout under ``out``.

    Raises:
        ParamsError: the params fail validation or reuse the synth seed.
        DatasetError: ``out`` already holds a dataset and ``force`` is false.
    """
    rendering = _checked(synth_params, params)
    planned = plan_challenge(params, rendering)
    started = time.perf_counter()
    with staged_dataset(Path(out), force=force) as staging:
        rows: list[ManifestRow] = []
        for item in tqdm(planned, desc="challenge", unit="event", disable=None):
            views, truth = render_planned(rendering, item)
            rows.extend(write_event(rendering, item.event, views, truth, staging, SOURCE))
        write_manifest(rows, staging / MANIFEST_NAME)
        write_dataset_info(dataset_info(rendering, params, len(rows)), staging)
    defects = sum(item.override is not None for item in planned)
    summary = Summary(len(planned), len(planned) - defects, defects, len(rows),
                      time.perf_counter() - started)  # fmt: skip
    log.info("generated %d challenge images (%d events) in %.1f s", summary.images,
             summary.events, summary.seconds)  # fmt: skip
    return summary


def _checked(synth_params: synth.Params, params: challenge.Params) -> synth.Params:
    if params.seed == synth_params.seed:
        raise ParamsError(
            f"challenge.seed {params.seed} equals synth.seed: the challenge set must be drawn "
            "independently of the development data; choose another challenge.seed"
        )
    rendering = render_params(synth_params, params)
    try:
        params.validate()
        rendering.validate()
    except ValueError as error:
        raise ParamsError(f"challenge params: {error}") from error
    return rendering


def dataset_info(rendering: synth.Params, params: challenge.Params, images: int) -> dict[str, Any]:
    """Identity of the challenge set; no wall-clock time, so it is byte-stable.

    ``rendering`` is the synth section as rendered: its seed, counts and calendar replaced by
    the challenge's (``render_params``).
    """
    return {
        "source": SOURCE,
        "licence": LICENCE,
        "params": asdict(params),
        "rendering": asdict(rendering),
        "seed": params.seed,
        "image_height": rendering.image_height,
        "image_width": rendering.image_width,
        "images": images,
        "rows": [
            {
                "defect_type": kind,
                "form": form or None,
                "size_range": list(SIZE_RANGES[kind, form]),
                "events": params.events_per_requirement,
            }  # fmt: skip
            for kind, form in ROWS
        ],
        "size_spread": "log-uniform: one draw in each equal slice of log size, shuffled",
        "severity_range": list(SEVERITY_RANGE),
        "generator": {"name": __name__, "version": GENERATOR_VERSION},
        "created_by": f"sealaudit {__version__}",
    }
