"""A tiny world for registry tests: a real (untrained) autoencoder, a fitted estimator, evidence.

The evidence documents are the fixture's (tests/fixtures/evidence/), read and written through
``pipeline.evidence`` with the world's own numbers put in by ``dataclasses.replace``, so they
satisfy the evidence contract as strictly as the stages' do. The scores are computed with the
real scoring code (as the evaluate stage would), so a model loaded back from the registry can
be checked against them. Thresholds sit at the median test score, so both decisions occur.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from PIL import Image

from pipeline import evidence
from pipeline.evidence import EvaluatedThreshold, Metrics, Mode, Provenance, Thresholds
from pipeline.evidence.documents import Suite
from pipeline.models.autoencoder import AutoencoderConfig, build_model
from pipeline.models.checkpoint import save_autoencoder
from pipeline.models.four_ssim import four_ms_ssim
from pipeline.models.mahalanobis import RandomFeatureMahalanobis
from pipeline.models.roi import Roi
from pipeline.models.thresholds import Threshold
from pipeline.monitoring.calibration import chart_settings
from pipeline.monitoring.fitted import FittedMonitor, save_monitor
from pipeline.monitoring.spc import ReferenceDistribution
from pipeline.provenance import sha256_file
from tests.dossier_world import write_pod_figures
from tests.params import PARAMS_FILE, section

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "evidence"
PROTOCOL = Path(__file__).resolve().parents[2] / "validation" / "protocol.yaml"

HEIGHT, WIDTH = 32, 128
DETECTOR = "attention_ae"
LAYER = "bottleneck"
PROVENANCE = {
    "git_commit": "4f1c2a9e0b7d6c5a4f3e2d1c0b9a8f7e6d5c4b3a",
    "git_dirty": False,
    "data_md5": "3b0d2f6c9a8e7d6c5b4a39281706f5e4.dir",
    "package_versions": {"torch": torch.__version__, "mlflow": "3.17.2"},
}
MODES = ("inline", "monitoring")
LOCK_STAGES = ("prepare", "validate_data", "train", "fit_monitor", "calibrate", "evaluate")


@dataclass
class World:
    """Paths and the scores the evidence was computed from."""

    root: Path
    evidence: Path
    images: list[Path]
    scores: dict[str, np.ndarray]
    thresholds: dict[str, Threshold]


def _image(rng: np.random.Generator, defect: bool) -> np.ndarray:
    image = np.full((HEIGHT, WIDTH), 90.0) + rng.normal(0, 4, (HEIGHT, WIDTH))
    image[HEIGHT // 3 : 2 * HEIGHT // 3] += 60
    if defect:
        col = int(rng.integers(8, WIDTH - 16))
        image[HEIGHT // 3 : HEIGHT // 3 + 8, col : col + 8] -= 70
    return np.clip(image, 0, 255).astype(np.uint8)


def _json(path: Path, content: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _provenance(stage: str, params: dict | None = None, seed: int | None = None) -> Provenance:
    return Provenance(**PROVENANCE, stage=stage, params=params or {}, seed=seed)


def _png(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((8, 8), 200, dtype=np.uint8)).save(path)


def build_world(root: Path, seed: int = 0) -> World:
    """Write images, checkpoint, estimator and passing evidence under ``root``."""
    torch.set_num_threads(1)
    root.mkdir(parents=True, exist_ok=True)
    (root / "dvc.yaml").write_text("stages: {}\n")
    shutil.copyfile(PARAMS_FILE, root / "params.yaml")  # the commands read it
    rng = np.random.default_rng(seed)
    images = []
    for index, defect in enumerate([False] * 3 + [True] * 3):
        path = root / "images" / f"img{index}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(_image(rng, defect)).save(path)
        images.append(path)
    evidence = root / "artifacts"
    config = AutoencoderConfig(
        HEIGHT, WIDTH, widths=(4, 8), latent_dim=8, dropout=0.0, skip_levels=(1,)
    )
    model = build_model(DETECTOR, config, seed=seed).eval()
    mask = np.zeros((HEIGHT, WIDTH), dtype=bool)
    mask[HEIGHT // 4 : 3 * HEIGHT // 4] = True
    roi = Roi("rectangle", {"rows": [0.25, 0.75], "cols": [0.0, 1.0]}, mask)
    save_autoencoder(evidence / "train" / DETECTOR / "model.pt", model, DETECTOR, roi)
    stack = torch.from_numpy(
        np.stack([np.asarray(Image.open(p), dtype=np.float32) / 255.0 for p in images])
    )[:, None]
    with torch.no_grad():
        inline = four_ms_ssim(stack, model(stack), roi=torch.from_numpy(mask)[None, None]).score
        features = model.encode_features(stack, LAYER)
    estimator = RandomFeatureMahalanobis(n_features_kept=6, random_state=seed)
    estimator.fit(features.flatten(1).numpy())
    scores = {
        "inline": inline.numpy().astype(float),
        "monitoring": estimator.mahalanobis(features.flatten(1).numpy()),
    }
    thresholds = {mode: _threshold(mode, s) for mode, s in scores.items()}
    world = World(root, evidence, images, scores, thresholds)
    shape = tuple(int(n) for n in features.shape[1:])
    _write_monitor(world, estimator, shape, seed)
    _write_evidence(world)
    return world


def _write_monitor(
    world: World, estimator: RandomFeatureMahalanobis, shape: tuple[int, ...], seed: int
) -> None:
    """The calibrated monitor (``calibrate/monitor.npz``) the monitoring model packages: the
    estimator, the normal images' scores as reference, nominal chart limits and the operating
    threshold inside, as the calibrate stage writes it."""
    checkpoint = world.evidence / "train" / DETECTOR / "model.pt"
    reference = ReferenceDistribution.from_scores(world.scores["monitoring"][:3])
    chart = section("fit_monitor", chart={"limits": "nominal"}).chart
    monitor = FittedMonitor(
        estimator=estimator,
        layer=LAYER,
        feature_shape=(shape[0], shape[1], shape[2]),
        checkpoint_path=str(checkpoint),
        checkpoint_sha256=sha256_file(checkpoint),
        architecture=DETECTOR,
        reference=reference,
        chart=chart_settings(chart, reference, seed),
    )
    path = world.evidence / "calibrate" / "monitor.npz"
    save_monitor(monitor.with_thresholds([world.thresholds["monitoring"]]), path)


def _threshold(mode: str, scores: np.ndarray) -> Threshold:
    value = float(np.median(scores))
    return Threshold(f"{mode}-median-0000", mode, value, "median", {}, "val", 3, 3)


def _evaluated(threshold: Threshold) -> EvaluatedThreshold:
    fitted = {field.name: getattr(threshold, field.name) for field in fields(Threshold)}
    return EvaluatedThreshold(
        **fitted,
        test={"accuracy": 0.93, "miss_rate": 0.07, "recall": 0.93, "tp": 167, "fn": 13},
        test_ci={"accuracy": [0.90, 0.955], "miss_rate": [0.04, 0.12]},
        miss_rate_upper_95=0.11,
        sensitivity=[],
    )


def _mode_doc(world: World, mode: str, fixture: Mode) -> Mode:
    threshold = _evaluated(world.thresholds[mode])
    gallery = f"gallery/{mode}_true_positive_0.png"
    _png(world.evidence / "evaluate" / gallery)
    _png(world.evidence / "evaluate" / f"roc_{mode}.png")
    return replace(
        fixture,
        detector=DETECTOR,
        score="four_ms_ssim" if mode == "inline" else "rfd_md",
        working_resolution=[HEIGHT, WIDTH],
        n_test_normal=180,
        n_test_defective=180,
        ranking=replace(fixture.ranking, auroc=0.974, aupr=0.969, ci={"auroc": [0.958, 0.987]}),
        thresholds=[threshold],
        thresholds_not_fitted=[],
        operating_threshold_id=threshold.threshold_id,
        per_defect_type={"channel": {"recall": 0.9, "n": 30, "ci": [0.8, 0.97]}},
        plots={"roc": f"roc_{mode}.png"},
        gallery={"true_positive": [gallery]},
        pixel=None,
        seal_path=None,
    )


def _write_evaluation(world: World) -> None:
    fixture = evidence.read("evaluation", FIXTURE)
    modes = {mode: _mode_doc(world, mode, fixture.modes.of(mode)) for mode in MODES}
    evaluation = replace(
        fixture,
        modes=replace(fixture.modes, **modes),
        provenance=_provenance("evaluate", {"bootstrap": 200}, 1),
    )
    evidence.write(evaluation, world.evidence)
    evidence.write(Metrics(**{m: {"auroc": 0.974} for m in MODES}), world.evidence)
    evidence.write(Thresholds(**{m: [world.thresholds[m]] for m in MODES}), world.evidence)
    calibration = evidence.read("calibration", FIXTURE)
    calibrated = {
        mode: replace(
            calibration.modes.of(mode),
            detector=DETECTOR,
            score=modes[mode].score,
            four_ms_ssim={},  # the world scores with four_ms_ssim's defaults
            seal_path=None,
            thresholds_not_fitted=[],
            operating_threshold_id=world.thresholds[mode].threshold_id,
        )
        for mode in MODES
    }
    calibration = replace(
        calibration,
        modes=replace(calibration.modes, **calibrated),
        provenance=_provenance("calibrate"),
    )
    evidence.write(calibration, world.evidence)


def _write_capability(world: World) -> None:
    """The fixture's passing capability evidence, under the repository's protocol, for both
    modes (the monitoring mode judged with the inline rows)."""
    from pipeline.registry.protocol import protocol_sha256

    capability = evidence.read("capability", FIXTURE)
    protocol = replace(capability.protocol, sha256=protocol_sha256(PROTOCOL))
    modes = replace(capability.modes, monitoring=capability.modes.inline)
    provenance = _provenance("assess_capability", {"challenge": "challenge"})
    evidence.write(
        replace(capability, protocol=protocol, modes=modes, provenance=provenance), world.evidence
    )
    write_pod_figures(world.evidence)  # register carries the POD figures the evidence names


def change_inline_capability(world: World, requirement: str, a90_95: float) -> None:
    """Rewrite one requirement's inline a90/95 (a re-assessment on the challenge set)."""
    capability = evidence.read("capability", world.evidence)
    inline = capability.modes.inline
    rows = [
        replace(row, a90_95=a90_95, passed=False, margin=a90_95 - row.required_a90_95)
        if row.id == requirement
        else row
        for row in inline.requirements
    ]
    modes = replace(capability.modes, inline=replace(inline, requirements=rows))
    evidence.write(replace(capability, modes=modes), world.evidence)


def _write_evidence(world: World) -> None:
    ev = world.evidence
    _write_evaluation(world)
    _write_capability(world)
    governance = evidence.read("governance", FIXTURE)
    suite = Suite("manifest", "validation/suites/manifest.json", "ab" * 32, "manifest", 0)
    evidence.write(
        replace(
            governance,
            success=True,
            critical_failures=0,
            warnings=1,
            suites=[suite],
            expectations=[],
            provenance=_provenance("validate_data"),
        ),
        ev,
    )
    (ev / "validate_data" / "summary.md").write_text("# governance\nall passed\n")
    split = evidence.read("split_summary", FIXTURE)
    evidence.write(replace(split, provenance=_provenance("prepare", {"seed": 42}, 42)), ev)
    _write_training(world)
    lock = {
        "schema": "2.0",
        "stages": {
            s: {"cmd": f"python -m pipeline.{s}", "outs": [{"path": f"artifacts/{s}", "md5": s}]}
            for s in LOCK_STAGES
        },
    }
    (world.root / "dvc.lock").write_text(yaml.safe_dump(lock))


def _write_training(world: World) -> None:
    ev = world.evidence
    train = evidence.read("train_summary", FIXTURE)
    trained = replace(
        train.models[DETECTOR],
        epochs_run=1,
        best_val_loss=0.01,
        image_height=HEIGHT,
        image_width=WIDTH,
        roi_kind="rectangle",
    )
    provenance = _provenance("train", {"seed": 7, "fit": {"epochs": 1}}, 7)
    evidence.write(replace(train, models={DETECTOR: trained}, provenance=provenance), ev)
    _json(ev / "train" / DETECTOR / "history.json", [{"epoch": 1, "loss": 0.01}])
    monitor = evidence.read("monitor_summary", FIXTURE)
    monitor = replace(
        monitor,
        layer=LAYER,
        n_features_kept=6,
        image_height=HEIGHT,
        image_width=WIDTH,
        provenance=_provenance("fit_monitor"),
    )
    evidence.write(monitor, ev)


def change_inline_evidence(world: World, **changes: Any) -> None:
    """Rewrite the inline mode's numbers (a re-evaluation); keys: auroc_ci, miss_upper."""
    document = evidence.read("evaluation", world.evidence)
    inline = document.modes.inline
    if "auroc_ci" in changes:
        ranking = replace(
            inline.ranking, ci={**inline.ranking.ci, "auroc": list(changes["auroc_ci"])}
        )
        inline = replace(inline, ranking=ranking)
    if "miss_upper" in changes:
        first = replace(inline.thresholds[0], miss_rate_upper_95=changes["miss_upper"])
        inline = replace(inline, thresholds=[first, *inline.thresholds[1:]])
    evidence.write(replace(document, modes=replace(document.modes, inline=inline)), world.evidence)


def write_dossier(folder: Path, registration: dict[str, Any]) -> Path:
    """What render_dossier leaves for one version: a PDF and its JSON sidecar."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{registration['model_name']}-v{registration['version']}"
    pdf = folder / f"{stem}.pdf"
    pdf.write_bytes(b"%PDF-1.4\n% sealaudit test dossier " + stem.encode() + b"\n%%EOF\n")
    sidecar = {
        "model_name": registration["model_name"],
        "version": registration["version"],
        "lineage_key": registration["lineage_key"],
        "pdf": pdf.name,
        "pdf_sha256": hashlib.sha256(pdf.read_bytes()).hexdigest(),
    }
    _json(folder / f"{stem}.json", sidecar)
    return pdf


def seed_tracking_db(cache: Path, root: Path) -> None:
    """Put an empty, migrated ``mlflow.db`` into ``root`` (migrations cost seconds each time)."""
    template = cache / "mlflow-template.db"
    if not template.is_file():
        from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

        cache.mkdir(parents=True, exist_ok=True)
        partial = cache / "mlflow-template.partial.db"
        store = SqlAlchemyStore(f"sqlite:///{partial}", str(cache / "unused-artifacts"))
        store.engine.dispose()
        partial.replace(template)
    shutil.copyfile(template, root / "mlflow.db")
