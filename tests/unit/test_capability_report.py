"""One mode's capability evidence from event outcomes: false rejects and requirement rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline.capability.events import EventOutcome
from pipeline.capability.report import Rules, assess_requirement, false_reject
from pipeline.data.manifest import DatasetError
from pipeline.registry.protocol import Requirement

RULES = Rules(pod=0.9, confidence=0.95, link="logit", false_reject_limit=0.05,
              upper_contrast_share=2 / 3)  # fmt: skip
VOID = Requirement("REQ-VOID", "void", None, "major axis", "mm", 1.5)


def _event(i: int, label: int, rejected: bool, size: float = float("nan"), unit: str = "mm",
           contrast: float = 20.0) -> EventOutcome:  # fmt: skip
    kind = "void" if label else "none"
    return EventOutcome(f"e{i}", label, kind, "", size, unit, contrast, 2, rejected)


def test_false_rejects_are_bounded_one_sided_and_judged_against_the_limit() -> None:
    events = [_event(i, 0, i < 8) for i in range(300)]
    result = false_reject(events, RULES)
    assert (result["n_events"], result["n_rejected"]) == (300, 8)
    assert result["upper"] == pytest.approx(0.0476, abs=5e-4) and result["passed"]
    events = [_event(i, 0, i < 9) for i in range(300)]
    assert not false_reject(events, RULES)["passed"]  # 9 of 300: upper bound 0.0518


def test_a_requirement_met_by_a_steep_pod_passes_with_its_margin(tmp_path: Path) -> None:
    sizes = np.geomspace(0.5, 5.0, 120)
    rng = np.random.default_rng(0)
    pod = 1 / (1 + np.exp(-(np.log(9) + 8 * np.log(sizes / 0.8))))  # a90 = 0.8 mm
    events = [
        _event(i, 1, bool(rng.random() < p), s)
        for i, (s, p) in enumerate(zip(sizes, pod, strict=True))
    ]
    row = assess_requirement(events, VOID, RULES, tmp_path)
    assert row["method"] == "glm" and row["n_events"] == 120
    assert row["a90"] < row["a90_95"] <= 1.5 and row["passed"]
    assert row["margin"] == pytest.approx(row["a90_95"] - 1.5)
    assert (tmp_path / "REQ-VOID.png").is_file()


def test_all_misses_is_not_demonstrated_and_fails(tmp_path: Path) -> None:
    events = [_event(i, 1, False, 0.5 + i / 10) for i in range(60)]
    row = assess_requirement(events, VOID, RULES, tmp_path)
    assert (row["method"], row["a90_95"], row["passed"], row["margin"]) == (
        "not_demonstrated", None, False, None,
    )  # fmt: skip


def test_a_requirement_without_events_is_not_demonstrated(tmp_path: Path) -> None:
    row = assess_requirement([], VOID, RULES, tmp_path)
    assert (row["n_events"], row["method"], row["figure"]) == (0, "not_demonstrated", None)


def test_sizes_in_another_unit_than_the_protocol_are_refused(tmp_path: Path) -> None:
    events = [_event(i, 1, True, 0.3, unit="fraction") for i in range(5)]
    with pytest.raises(DatasetError, match="REQ-VOID.*'mm'"):
        assess_requirement(events, VOID, RULES, tmp_path)


def test_events_without_a_recorded_size_are_left_out_and_counted(tmp_path: Path) -> None:
    events = [_event(i, 1, True, 0.5 + i / 10) for i in range(40)]
    events += [_event(100 + i, 1, True) for i in range(3)]  # NaN size: a frame without a mask
    row = assess_requirement(events, VOID, RULES, tmp_path)
    assert row["n_events"] == 40
    assert "3 event(s) of this type without a recorded size left out" in row["note"]
