"""The real MLflow registry (embedded SQLite): lineage, idempotency, gated promotion, audit.

One module-scoped world registers three inline versions (v1 passing, v2 failing capability,
v3 passing) through the real ``register`` stage; the monitoring model's evidence never
changes, so it stays at version 1. No mocks: the stage, the CLI and MLflow run for real.
"""

from __future__ import annotations

import io
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image

from pipeline.cli import main as cli
from pipeline.provenance import sha256_file
from pipeline.register import run as register_stage
from pipeline.registry.audit import read_entries
from pipeline.registry.lineage import sha256_json
from pipeline.registry.promotion import PromotionError, Signature, current_champion, rollback
from pipeline.registry.pyfunc import IMAGE_ROOT_ENV, images_frame
from pipeline.registry.tracking import AUDIT_LOG_ENV, TRACKING_ENV, connect
from tests.integration.registry_world import (
    PROVENANCE,
    World,
    build_world,
    change_inline_capability,
    change_inline_evidence,
    seed_tracking_db,
    write_dossier,
)
from tests.params import section

ROOT = Path(__file__).resolve().parents[2]
CRITERIA = ROOT / "validation" / "protocol.yaml"
INLINE, MONITORING = "sealaudit-inline", "sealaudit-monitoring"
SIGN = ["--signer", "Grace Hopper", "--reason", "validation report VR-7 reviewed"]

pytestmark = pytest.mark.slow


@dataclass
class Registry:
    world: World
    client: Any
    records: dict[int, dict[str, Any]]

    @property
    def audit_log(self) -> Path:
        return self.world.root / "registry_audit.jsonl"

    @property
    def dossiers(self) -> Path:
        return self.world.root / "reports" / "dossiers"


def _register(world: World) -> dict[str, Any]:
    lock = world.root / "dvc.lock"
    out = world.root / "artifacts" / "register"
    return register_stage(
        world.evidence, section("register"), lock, ROOT / "requirements.lock", out
    )


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Any:
    world = build_world(tmp_path_factory.mktemp("registry") / "repo")
    (world.root / "validation").mkdir()
    shutil.copyfile(CRITERIA, world.root / "validation" / CRITERIA.name)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(world.root)  # the embedded default resolves <repo>/mlflow.db from here
        # Empty means unset; setenv (not delenv) so teardown removes what MLflow exports.
        patch.setenv(TRACKING_ENV, "")
        patch.setenv(AUDIT_LOG_ENV, "")
        seed_tracking_db(tmp_path_factory.getbasetemp() / "mlflow-cache", world.root)
        v1 = _register(world)
        dossiers = world.root / "reports" / "dossiers"
        write_dossier(dossiers, v1["inline"])
        write_dossier(dossiers, v1["monitoring"])
        change_inline_evidence(world, auroc_ci=(0.62, 0.80), miss_upper=0.45)  # comparators
        change_inline_capability(world, "REQ-CHANNEL", 0.41)
        v2 = _register(world)
        write_dossier(dossiers, v2["inline"])  # refused as champion on capability alone
        change_inline_evidence(world, auroc_ci=(0.93, 0.99), miss_upper=0.10)
        change_inline_capability(world, "REQ-CHANNEL", 0.22)
        v3 = _register(world)  # no dossier yet
        client, target = connect()
        assert target.embedded and target.tracking_uri.endswith(f"{world.root}/mlflow.db")
        yield Registry(world, client, {1: v1, 2: v2, 3: v3})


def test_versions_follow_the_evidence(registry: Registry) -> None:
    versions = {n: registry.records[n]["inline"]["version"] for n in (1, 2, 3)}
    assert versions == {1: 1, 2: 2, 3: 3}
    monitoring = [registry.records[n]["monitoring"] for n in (1, 2, 3)]
    assert [(r["version"], r["created"]) for r in monitoring] == [(1, True), (1, False), (1, False)]


def test_lineage_tags_present_and_correct(registry: Registry) -> None:
    record = registry.records[1]["inline"]
    tags = registry.client.get_model_version(INLINE, "1").tags
    lock = yaml.safe_load((registry.world.root / "dvc.lock").read_text())["stages"]
    assert tags["sealaudit.lineage_key"] == record["lineage_key"]
    assert tags["sealaudit.git_commit"] == PROVENANCE["git_commit"]
    assert tags["sealaudit.git_dirty"] == "false"
    assert tags["sealaudit.data_md5"] == PROVENANCE["data_md5"]
    assert tags["sealaudit.seed"] == "7"  # the training seed
    assert tags["sealaudit.governance.success"] == "true"
    assert tags["sealaudit.governance.suites"] == "manifest@" + "ab" * 32
    assert json.loads(tags["sealaudit.package_versions"])["mlflow"] == "3.17.2"
    assert tags["sealaudit.dvc_stage.train"] == sha256_json(lock["train"])
    assert "sealaudit.dvc_stage.fit_monitor" not in tags  # not upstream of the inline mode
    checkpoint = registry.world.evidence / "train" / "attention_ae" / "model.pt"
    assert tags["sealaudit.sha256.checkpoint"] == sha256_file(checkpoint)
    monitoring = registry.client.get_model_version(MONITORING, "1").tags
    estimator = registry.world.evidence / "calibrate" / "monitor.npz"
    assert monitoring["sealaudit.sha256.estimator"] == sha256_file(estimator)
    assert monitoring["sealaudit.dvc_stage.fit_monitor"] == sha256_json(lock["fit_monitor"])
    run = registry.client.get_run(record["run_id"])
    assert run.data.tags["sealaudit.lineage_key"] == record["lineage_key"]


def test_run_records_params_metrics_and_artifacts_from_evidence(registry: Registry) -> None:
    run_id = registry.records[1]["inline"]["run_id"]
    run = registry.client.get_run(run_id)
    assert run.data.params["train.seed"] == "7"
    assert run.data.metrics["test_ci.auroc.low"] == pytest.approx(0.958)
    assert run.data.metrics["operating.miss_rate_upper_95"] == pytest.approx(0.11)
    listed = {
        f.path
        for folder in ("evidence", "plots", "gallery")
        for f in registry.client.list_artifacts(run_id, folder)
    }
    assert {"evidence/governance.json", "evidence/evaluation.json"} <= listed
    assert "evidence/capability.json" in listed
    tags = registry.client.get_model_version(INLINE, "1").tags
    assert tags["sealaudit.evidence_sha256.capability.json"]  # checked again at promotion
    assert {"evidence/monitor_summary.json", "evidence/dvc.lock"} <= listed  # for the dossier
    assert {"plots/roc_inline.png", "gallery/inline_true_positive_0.png"} <= listed


@pytest.mark.usefixtures("registry")
def test_model_has_signature_example_and_pinned_requirements() -> None:
    import mlflow

    info = mlflow.models.get_model_info(f"models:/{INLINE}/1")
    assert info.signature is not None
    assert {spec.name for spec in info.signature.inputs.inputs} == {"image_path", "image"}
    assert info.saved_input_example_info is not None
    requirements = Path(mlflow.pyfunc.get_model_dependencies(f"models:/{INLINE}/1"))
    lines = [line for line in requirements.read_text().splitlines() if line.strip()]
    assert lines and all("==" in line for line in lines)
    assert any(line.startswith("torch==") for line in lines)


def test_rerunning_registration_creates_no_new_version(registry: Registry) -> None:
    runs_before = len(registry.client.search_runs([_experiment_id(registry)]))
    record = _register(registry.world)
    assert not record["inline"]["created"] and not record["monitoring"]["created"]
    assert record["inline"]["version"] == 3
    assert len(registry.client.search_model_versions(f"name = '{INLINE}'")) == 3
    assert len(registry.client.search_runs([_experiment_id(registry)])) == runs_before
    saved = json.loads((registry.world.root / "artifacts/register/registration.json").read_text())
    assert saved["inline"]["lineage_key"] == registry.records[3]["inline"]["lineage_key"]


def _experiment_id(registry: Registry) -> str:
    return registry.client.get_experiment_by_name(section("register").experiment_name).experiment_id


@pytest.mark.assures("inline_reject", "HZ-04")
def test_failing_version_is_refused_with_each_unmet_criterion(
    registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    before = current_champion(registry.client, INLINE, "champion")
    assert cli(["promote", INLINE, "2", *SIGN]) == 1
    out = capsys.readouterr().out
    assert "REFUSED" in out and "unmet AC-CAP-1" in out
    assert "REQ-CHANNEL: a90/95 0.41 mm > required 0.25 mm (+0.16 mm; glm)" in out
    assert "AC-DOC-1" not in out and "AC-GOV-1" not in out
    assert "unmet CMP-" not in out  # the paper's references compare, never gate
    assert "protocol SA-VAL-PR-001 rev 1" in out and "predates the test: unknown" in out
    assert current_champion(registry.client, INLINE, "champion") == before
    entry = read_entries(registry.audit_log)[-1]
    assert (entry["action"], entry["version"], entry["meaning"]) == ("refuse", "2", "refused")
    assert {c["id"] for c in entry["criteria"] if not c["passed"]} == {"AC-CAP-1"}
    assert {c["id"] for c in entry["comparators"] if not c["passed"]} == {"CMP-AUROC", "CMP-MISS"}
    assert entry["protocol"]["sha256"] == sha256_file(CRITERIA)
    assert entry["evidence_hashes"]["protocol"] == sha256_file(CRITERIA)
    assert entry["protocol"]["deviations"] == []
    tags = registry.client.get_model_version(INLINE, "2").tags
    assert tags["sealaudit.decision.action"] == "refuse"
    assert tags["sealaudit.decision.meaning"] == "refused"
    assert tags["sealaudit.decision.criteria"] == "unmet: AC-CAP-1"


def test_shadow_takes_a_version_that_fails_capability_and_says_so(
    registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    client = registry.client
    assert cli(["promote", INLINE, "2", "--alias", "shadow", *SIGN]) == 0
    out = capsys.readouterr().out
    assert "PROMOTED: sealaudit-inline@shadow -> v2" in out
    assert "champion criterion not met: AC-CAP-1" in out
    assert current_champion(client, INLINE, "shadow") == "2"
    entry = read_entries(registry.audit_log)[-1]
    assert (entry["action"], entry["alias"], entry["gate"]) == ("promote", "shadow", "shadow")
    assert entry["note"].startswith("shadow: capability not met: AC-CAP-1: REQ-CHANNEL: a90/95")
    tag = client.get_model_version(INLINE, "2").tags["sealaudit.decision.criteria"]
    assert tag == entry["note"]
    assert cli(["promote", INLINE, "3", "--alias", "shadow", *SIGN]) == 1  # no dossier yet
    assert "unmet AC-DOC-1" in capsys.readouterr().out
    assert cli(["promote", INLINE, "1", "--alias", "shadow", *SIGN]) == 0
    assert read_entries(registry.audit_log)[-1]["note"] == "all met"
    assert cli(["promote", INLINE, "--rollback", "--alias", "shadow", *SIGN]) == 0
    assert current_champion(client, INLINE, "shadow") == "2"  # per alias: champion untouched
    assert cli(["promote", INLINE, "1", "--alias", "canary", *SIGN]) == 2
    assert "no stated meaning" in capsys.readouterr().err


@pytest.mark.assures("AC-DOC-1", "HZ-04")
@pytest.mark.usefixtures("registry")
def test_version_without_its_dossier_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["promote", INLINE, "3", *SIGN]) == 1
    out = capsys.readouterr().out
    assert "AC-DOC-1" in out and "no dossier found" in out


def test_a_sidecar_naming_a_pdf_outside_the_dossier_folder_is_refused(
    registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    record = registry.records[3]["inline"]
    outside = write_dossier(registry.world.root / "elsewhere", record)
    sidecar = registry.dossiers / outside.with_suffix(".json").name
    content = json.loads(outside.with_suffix(".json").read_text(encoding="utf-8"))
    sidecar.write_text(json.dumps({**content, "pdf": f"../../elsewhere/{outside.name}"}))
    try:
        assert cli(["promote", INLINE, "3", *SIGN]) == 2
        assert "leads outside the dossier folder" in capsys.readouterr().err
        assert registry.client.list_artifacts(record["run_id"], "dossier") == []
        assert current_champion(registry.client, INLINE, "champion") != "3"
    finally:
        sidecar.unlink()


def test_promotion_rollback_and_audit_verify(
    registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    client = registry.client
    assert cli(["promote", "inline", "1", *SIGN, "--meaning", "approved"]) == 0  # mode name
    assert current_champion(client, INLINE, "champion") == "1"
    write_dossier(registry.dossiers, registry.records[3]["inline"])
    assert cli(["promote", INLINE, "3", *SIGN]) == 0
    assert current_champion(client, INLINE, "champion") == "3"
    promoted = read_entries(registry.audit_log)[-1]
    assert (promoted["previous_champion"], promoted["signer"]) == ("1", "Grace Hopper")
    assert promoted["evidence_hashes"]["dossier.pdf"] == sha256_file(
        registry.dossiers / "sealaudit-inline-v3.pdf"
    )
    run_id = registry.records[3]["inline"]["run_id"]
    assert [f.path for f in client.list_artifacts(run_id, "dossier")] == [
        "dossier/sealaudit-inline-v3.json",
        "dossier/sealaudit-inline-v3.pdf",
    ]
    assert cli(["promote", INLINE, "--rollback", *SIGN]) == 0
    assert current_champion(client, INLINE, "champion") == "1"
    back = read_entries(registry.audit_log)[-1]
    assert (back["action"], back["version"], back["previous_champion"]) == ("rollback", "1", "3")
    tags = client.get_model_version(INLINE, "1").tags
    assert tags["sealaudit.decision.audit_entry"] == f"{back['seq']}:{back['hash']}"
    capsys.readouterr()
    assert cli(["audit", "verify"]) == 0
    assert "chain intact" in capsys.readouterr().out


def test_rollback_without_an_earlier_champion_is_an_error(registry: Registry) -> None:
    signature = Signature("Grace Hopper", "approved", "test")
    with pytest.raises(PromotionError, match="no earlier holder of the alias"):
        rollback(
            registry.client, MONITORING, signature, alias="champion", audit_log=registry.audit_log
        )


def _tampered_copy(registry: Registry, tmp_path: Path, how: str) -> Path:
    lines = registry.audit_log.read_text().splitlines()
    if how == "edit":
        entry = json.loads(lines[0])
        entry["reason"] = "approved without review"
        lines[0] = json.dumps(entry, sort_keys=True)
    elif how == "delete":
        del lines[1]
    else:  # truncate: a valid shorter chain, caught by the head recorded in the registry
        lines = lines[:-1]
    copy = tmp_path / f"{how}.jsonl"
    copy.write_text("\n".join(lines) + "\n")
    return copy


@pytest.mark.assures("HZ-08")
@pytest.mark.parametrize("how", ["edit", "delete", "truncate"])
def test_audit_verify_fails_on_a_tampered_copy(
    registry: Registry, tmp_path: Path, how: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if len(read_entries(registry.audit_log)) < 3:
        pytest.fail("the promotion test must run first and leave at least 3 entries")
    copy = _tampered_copy(registry, tmp_path, how)
    assert cli(["audit", "verify", "--log", str(copy)]) == 1
    assert "FAILED" in capsys.readouterr().out
    shutil.copyfile(registry.audit_log, tmp_path / "intact.jsonl")
    assert cli(["audit", "verify", "--log", str(tmp_path / "intact.jsonl")]) == 0


def test_champion_gives_the_scores_of_the_evidence(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow

    world = registry.world
    monkeypatch.setenv(IMAGE_ROOT_ENV, str(world.root))
    if current_champion(registry.client, MONITORING, "champion") is None:
        assert cli(["promote", MONITORING, "1", *SIGN]) == 0
    paths = pd.DataFrame({"image_path": [str(p) for p in world.images]})
    for name, mode in ((INLINE, "inline"), (MONITORING, "monitoring")):
        model = mlflow.pyfunc.load_model(f"models:/{name}@champion")
        out = model.predict(paths)
        np.testing.assert_allclose(out["score"], world.scores[mode], rtol=1e-5, atol=1e-6)
        expected = np.where(world.scores[mode] > world.thresholds[mode].value, "REJECT", "PASS")
        assert list(out["decision"]) == list(expected)
        assert set(out["threshold_id"]) == {world.thresholds[mode].threshold_id}
    inline = mlflow.pyfunc.load_model(f"models:/{INLINE}@champion")
    as_bytes = pd.DataFrame({"image": [p.read_bytes() for p in world.images[:2]]})
    out = inline.predict(as_bytes, params={"return_heatmap": True})
    np.testing.assert_allclose(out["score"], world.scores["inline"][:2], rtol=1e-5, atol=1e-6)
    arrays = images_frame([np.asarray(Image.open(p)) for p in world.images[:2]])
    np.testing.assert_allclose(
        inline.predict(arrays)["score"], world.scores["inline"][:2], rtol=1e-5, atol=1e-6
    )
    heatmap = Image.open(io.BytesIO(out["heatmap"].iloc[0]))
    assert heatmap.size == (128, 32) and heatmap.mode == "L"


def test_a_version_registered_without_capability_evidence_is_refused_with_the_fix(
    registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    """Last in the module: it registers a fourth inline version."""
    (registry.world.evidence / "assess_capability" / "capability.json").unlink()
    record = _register(registry.world)["inline"]
    listed = {f.path for f in registry.client.list_artifacts(record["run_id"], "evidence")}
    assert "evidence/capability.json" not in listed
    write_dossier(registry.dossiers, record)
    assert cli(["promote", INLINE, str(record["version"]), *SIGN]) == 1
    out = capsys.readouterr().out
    assert "unmet AC-CAP-1" in out and "unmet AC-FR-1" in out
    assert "capability evidence missing: run `dvc repro assess_capability`" in out
    assert cli(["promote", INLINE, str(record["version"]), "--alias", "shadow", *SIGN]) == 0
