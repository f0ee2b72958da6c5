"""``sealaudit dossier`` renders every registered version from what its run carries.

The world is the fixture evidence of a two-model training (the detector and its plain
baseline, each with its training curve) around the registry world's real checkpoint and
estimator, registered by the real ``register`` stage into an embedded SQLite registry in
tmp_path; the dossier command then reads the version back from MLflow alone.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from pipeline.cli import main as cli
from pipeline.register import run as register_stage
from pipeline.registry.tracking import AUDIT_LOG_ENV, TRACKING_ENV, connect
from tests.dossier_world import TEMPLATES, edit_json, make_world
from tests.integration.registry_world import LAYER, build_world, seed_tracking_db
from tests.params import section, write_params

ROOT = Path(__file__).resolve().parents[2]
BASELINE = "plain_ae"

pytestmark = pytest.mark.slow


def _two_model_world(root: Path) -> Path:
    """Fixture evidence with a second trained model; the registry world's model files."""
    paths = make_world(root)
    evidence = Path(paths.evidence_dir)
    tiny = build_world(root / "tiny").evidence
    shutil.copyfile(tiny / "train/attention_ae/model.pt", evidence / "train/attention_ae/model.pt")
    (evidence / "calibrate").mkdir(exist_ok=True)
    shutil.copyfile(tiny / "calibrate/monitor.npz", evidence / "calibrate/monitor.npz")

    def add_baseline(summary: dict[str, Any]) -> None:
        models = summary["models"]
        models["attention_ae"].update(image_height=32, image_width=128)
        models[BASELINE] = {**models["attention_ae"], "parameters": 1234}

    edit_json(evidence / "train/train_summary.json", add_baseline)
    edit_json(evidence / "fit_monitor/monitor_summary.json", lambda s: s.update(layer=LAYER))
    shutil.copytree(evidence / "train/attention_ae", evidence / "train" / BASELINE)
    (evidence / "train" / BASELINE / "model.pt").unlink()
    params = {
        "render_dossier": {
            "system_name": "sealaudit",
            "modes": ["inline", "monitoring"],
            "gallery_per_kind": 1,
            "pdf_variant": "none",
        },
        "register": {},
    }
    write_params(root / "params.yaml", params)
    return evidence


@pytest.fixture
def registered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "dvc.yaml").write_text("stages: {}\n")
    evidence = _two_model_world(root)
    monkeypatch.chdir(root)  # the embedded store is <repo>/mlflow.db
    monkeypatch.setenv(TRACKING_ENV, "")  # setenv, so teardown removes what MLflow exports
    monkeypatch.setenv(AUDIT_LOG_ENV, "")
    seed_tracking_db(tmp_path / "mlflow-cache", root)
    records = (root / "data.dvc", root / "dataset.json")
    register_stage(
        evidence,
        section("register"),
        root / "dvc.lock",
        ROOT / "requirements.lock",
        root / "out",
        records,
    )
    shutil.rmtree(evidence)  # the dossier must read the version from its run alone
    return root


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("model", ["sealaudit-inline", "sealaudit-monitoring"])
def test_every_registered_version_renders_from_its_own_run(
    registered: Path, model: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run_id = connect()[0].get_model_version(model, "1").run_id
    carried = {f.path for f in connect()[0].list_artifacts(run_id, f"train/{BASELINE}")}
    assert f"train/{BASELINE}/training_curve.png" in carried  # register logs every model's
    args = ["--params", "params.yaml", "--templates", str(TEMPLATES), "--out", "dossiers"]
    code = cli(["dossier", "--model", model, "--version", "1", *args])
    out, err = capsys.readouterr()
    assert code == 0, err
    html = (registered / "dossiers" / f"{model}-v1.html").read_text(encoding="utf-8")
    for name in ("attention_ae", BASELINE):
        assert f"Source: train/{name}/training_curve.png" in html
    assert "not carried by this run" not in html
    pod = "Source: assess_capability/pod/inline/REQ-CHANNEL.png"  # the run carries pod/<mode>/
    assert (pod in html) == (model == "sealaudit-inline")  # the fixture assessed inline only


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_a_version_whose_run_lacks_a_training_curve_renders_with_a_note(
    registered: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from urllib.parse import urlparse

    client = connect()[0]
    run = client.get_run(client.get_model_version("sealaudit-inline", "1").run_id)
    # A run registered before `register` logged every model's curve carried the detector's only.
    shutil.rmtree(Path(urlparse(run.info.artifact_uri).path) / "train" / BASELINE)
    args = ["--params", "params.yaml", "--templates", str(TEMPLATES), "--out", "dossiers"]
    code = cli(["dossier", "--model", "sealaudit-inline", "--version", "1", *args])
    assert code == 0, capsys.readouterr().err
    html = (registered / "dossiers" / "sealaudit-inline-v1.html").read_text(encoding="utf-8")
    assert f"Training curve of model {BASELINE}: not carried by this run." in html
    assert "Source: train/attention_ae/training_curve.png" in html


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_compare_reads_the_champion_from_the_registry_when_asked(
    registered: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client = connect()[0]
    first = client.get_model_version("sealaudit-inline", "1")
    second = client.create_model_version(
        "sealaudit-inline", first.source, run_id=first.run_id, tags=first.tags
    )
    client.set_registered_model_alias("sealaudit-inline", "champion", "1")
    args = ["--model", "sealaudit-inline", "--version", str(second.version), "--out", "dossiers"]
    args += ["--params", "params.yaml", "--templates", str(TEMPLATES)]
    html = registered / "dossiers" / f"sealaudit-inline-v{second.version}.html"

    assert cli(["dossier", *args]) == 0, capsys.readouterr().err
    command = f"sealaudit dossier --model sealaudit-inline --version {second.version}"
    assert f"run `{command} --compare`" in html.read_text(encoding="utf-8")

    assert cli(["dossier", *args, "--compare"]) == 0, capsys.readouterr().err
    text = html.read_text(encoding="utf-8")
    assert "against champion sealaudit-inline v1 (champion)" in text
    assert "--compare`" not in text
