"""Hit/miss per capture event: twin views are one trial, any rejected view rejects the pouch."""

from __future__ import annotations

import math

import pytest

from pipeline.capability.events import (
    ImageDecision,
    defect_events,
    event_outcomes,
    normal_events,
    sizes_and_hits,
    upper_contrast,
)
from pipeline.data.manifest import DatasetError


def _view(event: str, view: str, rejected: bool, **truth: object) -> ImageDecision:
    fields = {
        "label": 1,
        "defect_type": "channel",
        "defect_form": "",
        "defect_size": 0.3,
        "defect_size_unit": "mm",
        "defect_contrast": 12.0,
    }
    fields.update(truth)
    return ImageDecision(f"{event}-{view}", event, rejected=rejected, **fields)  # type: ignore[arg-type]


def test_any_rejected_view_rejects_the_event_and_views_count_once() -> None:
    images = [
        _view("a", "12", False),
        _view("a", "23", True),
        _view("b", "12", False),
        _view("b", "23", False),
    ]
    events = event_outcomes(images)
    assert [(e.capture_event, e.rejected, e.n_views) for e in events] == [
        ("a", True, 2),
        ("b", False, 2),
    ]


def test_views_disagreeing_on_ground_truth_are_refused() -> None:
    images = [_view("a", "12", False), _view("a", "23", False, defect_size=0.4)]
    with pytest.raises(DatasetError, match="capture event 'a'"):
        event_outcomes(images)


def test_normal_events_with_nan_sizes_group_cleanly() -> None:
    nan = math.nan
    images = [
        _view(
            "n",
            v,
            False,
            label=0,
            defect_type="none",
            defect_size=nan,
            defect_size_unit="",
            defect_contrast=nan,
        )
        for v in ("12", "23")
    ]
    events = event_outcomes(images)
    assert len(normal_events(events)) == 1
    assert defect_events(events, "channel", None) == []


def test_requirement_rows_select_by_type_and_form() -> None:
    images = [
        _view("p", "12", True, defect_type="contamination", defect_form="particle"),
        _view("f", "12", False, defect_type="contamination", defect_form="fibre"),
    ]
    events = event_outcomes(images)
    assert [e.capture_event for e in defect_events(events, "contamination", "fibre")] == ["f"]
    assert len(defect_events(events, "contamination", None)) == 2


def test_sizes_and_hits_refuse_events_without_ground_truth() -> None:
    events = event_outcomes([_view("a", "12", True, defect_size=math.nan)])
    with pytest.raises(DatasetError, match="no positive defect_size"):
        sizes_and_hits(events)


def test_upper_contrast_keeps_the_upper_share_of_the_range() -> None:
    images = [_view(str(c), "12", False, defect_contrast=float(c)) for c in (5, 10, 15, 20, 25)]
    kept = upper_contrast(event_outcomes(images), 2 / 3)
    assert sorted(e.contrast for e in kept) == [15.0, 20.0, 25.0]
