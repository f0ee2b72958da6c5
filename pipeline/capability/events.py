"""Hit/miss per capture event: the decision unit the protocol counts.

A pouch is photographed in twin views; the inline system rejects the pouch when any of its
views is rejected. Capability is therefore measured per capture event, never per image: two
views of one pouch are one trial, not two (counting views would halve every confidence bound's
honest width).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.data.manifest import DatasetError


@dataclass(frozen=True)
class ImageDecision:
    """One image's ground truth (from the manifest) and the detector's decision on it."""

    image_id: str
    capture_event: str
    label: int
    defect_type: str
    defect_form: str
    defect_size: float
    defect_size_unit: str
    defect_contrast: float
    rejected: bool


@dataclass(frozen=True)
class EventOutcome:
    """One capture event: its ground truth and whether any of its views was rejected."""

    capture_event: str
    label: int
    defect_type: str
    defect_form: str
    size: float
    size_unit: str
    contrast: float
    n_views: int
    rejected: bool


def event_outcomes(images: Sequence[ImageDecision]) -> list[EventOutcome]:
    """Group image decisions by capture event (any view rejected => event rejected).

    Raises:
        DatasetError: the views of one event disagree on their ground truth (a corrupt manifest).
    """
    grouped: dict[str, list[ImageDecision]] = {}
    for image in images:
        grouped.setdefault(image.capture_event, []).append(image)
    return [_outcome(event, views) for event, views in sorted(grouped.items())]


def _outcome(event: str, views: list[ImageDecision]) -> EventOutcome:
    first = views[0]
    truth = (first.label, first.defect_type, first.defect_form)
    for view in views[1:]:
        same_size = _same(view.defect_size, first.defect_size)
        if (view.label, view.defect_type, view.defect_form) != truth or not same_size:
            raise DatasetError(
                f"capture event {event!r}: views {first.image_id} and {view.image_id} disagree "
                "on label, defect type, form or size; regenerate or re-import the dataset"
            )
    return EventOutcome(
        capture_event=event,
        label=first.label,
        defect_type=first.defect_type,
        defect_form=first.defect_form,
        size=first.defect_size,
        size_unit=first.defect_size_unit,
        contrast=first.defect_contrast,
        n_views=len(views),
        rejected=any(view.rejected for view in views),
    )


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def defect_events(
    events: Sequence[EventOutcome], defect_type: str, form: str | None
) -> list[EventOutcome]:
    """The defective events of one requirement row (``form`` None: any form)."""
    return [
        event
        for event in events
        if event.label == 1
        and event.defect_type == defect_type
        and (form is None or event.defect_form == form)
    ]


def normal_events(events: Sequence[EventOutcome]) -> list[EventOutcome]:
    """The events without a defect (the false-reject trials)."""
    return [event for event in events if event.label == 0]


def sizes_and_hits(events: Sequence[EventOutcome]) -> tuple[np.ndarray, np.ndarray]:
    """(sizes, hits) arrays of defect events, for the POD fit.

    Raises:
        DatasetError: an event has no recorded size (the manifest lacks ground truth).
    """
    sizes = np.array([event.size for event in events], dtype=np.float64)
    missing = [
        event.capture_event for event, size in zip(events, sizes, strict=True) if not size > 0
    ]
    if missing:
        raise DatasetError(
            f"{len(missing)} defect events have no positive defect_size (first: {missing[0]}); "
            "capability needs the ground-truth columns: regenerate with `sealaudit data challenge`"
        )
    hits = np.array([event.rejected for event in events], dtype=bool)
    return sizes, hits


def upper_contrast(events: Sequence[EventOutcome], share: float) -> list[EventOutcome]:
    """The events whose contrast lies in the upper ``share`` of the observed contrast range."""
    if not events:
        return []
    contrasts = np.array([event.contrast for event in events], dtype=np.float64)
    low, high = float(np.nanmin(contrasts)), float(np.nanmax(contrasts))
    cut = high - share * (high - low)
    return [event for event in events if event.contrast >= cut]
