"""The release path end to end on a tiny world, as ``scripts/lifecycle.sh`` runs it on the demo:
shadow -> inspect and monitor through ``models:/...@shadow`` -> champion -> inspect and monitor
through ``@champion`` -> rollback -> ``audit verify``; real register stage, real CLI, real MLflow
(embedded SQLite), no mocks.

The world's evidence passes every protocol criterion (tests/integration/registry_world.py), so
champion is granted here; the refusal of a version that fails capability while shadow takes it
is tests/integration/test_registry.py's (``test_failing_version_is_refused_...`` and
``test_shadow_takes_a_version_that_fails_capability_and_says_so``).
"""

from __future__ import annotations

import csv
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pipeline.cli import main as cli
from pipeline.provenance import sha256_file
from pipeline.register import run as register_stage
from pipeline.registry.audit import read_entries
from pipeline.registry.promotion import current_champion
from pipeline.registry.tracking import AUDIT_LOG_ENV, TRACKING_ENV, connect
from tests.integration.registry_world import (
    HEIGHT,
    WIDTH,
    World,
    build_world,
    change_inline_evidence,
    seed_tracking_db,
    write_dossier,
)
from tests.params import section, write_params

ROOT = Path(__file__).resolve().parents[2]
INLINE, MONITORING = "sealaudit-inline", "sealaudit-monitoring"
SIGN = ["--signer", "Grace Hopper", "--role", "QA manager", "--reason", "VR-7 reviewed"]

pytestmark = pytest.mark.slow


@dataclass
class Lifecycle:
    world: World
    client: Any
    lots: Path

    @property
    def root(self) -> Path:
        return self.world.root


def _register(world: World) -> dict[str, Any]:
    out = world.root / "artifacts" / "register"
    lock = world.root / "dvc.lock"
    return register_stage(
        world.evidence, section("register"), lock, ROOT / "requirements.lock", out
    )


@pytest.fixture(scope="module")
def lifecycle(tmp_path_factory: pytest.TempPathFactory) -> Any:
    world = build_world(tmp_path_factory.mktemp("lifecycle") / "repo")
    (world.root / "validation").mkdir()
    shutil.copyfile(ROOT / "validation" / "protocol.yaml", world.root / "validation/protocol.yaml")
    # `data lots` renders at the synth size: the world's model works at 32 x 128
    write_params(
        world.root / "params.yaml", {"synth": {"image_height": HEIGHT, "image_width": WIDTH}}
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(world.root)
        patch.setenv(TRACKING_ENV, "")
        patch.setenv(AUDIT_LOG_ENV, "")
        seed_tracking_db(tmp_path_factory.getbasetemp() / "mlflow-cache", world.root)
        first = _register(world)
        dossiers = world.root / "reports" / "dossiers"
        for mode in ("inline", "monitoring"):
            write_dossier(dossiers, first[mode])  # what `sealaudit dossier` leaves
        change_inline_evidence(world, miss_upper=0.09)  # a re-evaluation: inline v2, passing
        write_dossier(dossiers, _register(world)["inline"])
        client, _ = connect()
        assert cli(["data", "lots", "lots", "--lots", "2", "--images-per-lot", "5"]) == 0
        yield Lifecycle(world, client, world.root / "lots")


def _inspect(lifecycle: Lifecycle, uri: str, capsys: pytest.CaptureFixture[str]) -> list[str]:
    images = sorted(str(p) for p in lifecycle.lots.glob("*.png"))[:4]
    capsys.readouterr()
    assert cli(["inspect", *images, "--model", uri]) == 0
    rows = capsys.readouterr().out.strip().splitlines()[1:]
    assert [row.split("\t")[0] for row in rows] == images
    return [row.split("\t")[3] for row in rows]


def _monitor(lifecycle: Lifecycle, uri: str) -> dict[str, Any]:
    report_dir = lifecycle.root / "monitoring" / uri.rsplit("@", 1)[-1]
    args = ["monitor", str(lifecycle.lots), "--model", uri, "--report-dir", str(report_dir)]
    code = cli([*args, "--history", str(lifecycle.root / "monitoring" / "history.csv")])
    assert code in (0, 3)  # in control or an alarm: both are verdicts, 2 would be an error
    report = json.loads((report_dir / "monitoring_report.json").read_text())
    assert report["exit_code"] == code
    return report


def test_shadow_then_champion_then_rollback_and_a_verified_trail(
    lifecycle: Lifecycle, capsys: pytest.CaptureFixture[str]
) -> None:
    client, root = lifecycle.client, lifecycle.root
    for name in (INLINE, MONITORING):
        assert cli(["promote", name, "1", "--alias", "shadow", *SIGN]) == 0
        assert current_champion(client, name, "shadow") == "1"
    assert set(_inspect(lifecycle, f"models:/{INLINE}@shadow", capsys)) <= {"PASS", "REJECT"}

    shadow = _monitor(lifecycle, f"models:/{MONITORING}@shadow")
    reference = shadow["reference"]
    assert reference["source"] == f"models:/{MONITORING}@shadow"
    assert reference["model_version"] == f"models:/{MONITORING}/1"
    assert (
        reference["threshold"]["threshold_id"]
        == lifecycle.world.thresholds["monitoring"].threshold_id
    )
    fetched = root / "monitoring" / "shadow" / "model"
    packaged = lifecycle.world.evidence / "calibrate" / "monitor.npz"
    assert sha256_file(fetched / "estimator.npz") == sha256_file(packaged)
    assert Path(reference["checkpoint"]) == fetched / "checkpoint.pt"
    assert shadow["images"]["scored"] == 10

    for name, version in ((INLINE, "1"), (MONITORING, "1"), (INLINE, "2")):
        assert cli(["promote", name, version, *SIGN]) == 0
    assert current_champion(client, INLINE, "champion") == "2"
    assert _inspect(lifecycle, f"models:/{INLINE}@champion", capsys)
    champion = _monitor(lifecycle, f"models:/{MONITORING}@champion")
    # the same registered version: one history goes on, nothing scored twice
    assert champion["reference"]["model_version"] == f"models:/{MONITORING}/1"
    assert champion["images"] == {**champion["images"], "scored": 0, "already_in_history": 10}
    with (root / "monitoring" / "history.csv").open(newline="") as handle:
        stamps = {row["model_version"] for row in csv.DictReader(handle)}
    assert stamps == {f"models:/{MONITORING}/1"}

    assert cli(["promote", INLINE, "--rollback", "--alias", "champion", *SIGN]) == 0
    assert current_champion(client, INLINE, "champion") == "1"
    actions = [(e["action"], e["alias"]) for e in read_entries(root / "registry_audit.jsonl")]
    assert actions == [("promote", "shadow")] * 2 + [("promote", "champion")] * 3 + [
        ("rollback", "champion")
    ]
    capsys.readouterr()
    assert cli(["audit", "verify"]) == 0
    assert "6 entries, chain intact" in capsys.readouterr().out


def test_monitor_names_the_versions_when_no_version_holds_the_alias(
    lifecycle: Lifecycle, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--history", "h.csv", "--report-dir", str(lifecycle.root / "unused")]
    uri = f"models:/{MONITORING}@canary"
    assert cli(["monitor", str(lifecycle.lots), "--model", uri, *args]) == 2
    err = capsys.readouterr().err
    assert f"no version of {MONITORING} holds the alias 'canary' yet (registered: 1)" in err
    assert f"sealaudit promote {MONITORING} <version> --alias canary" in err
    assert cli(["monitor", str(lifecycle.lots), "--model", f"models:/{INLINE}/1", *args]) == 2
    assert "registered as mode 'inline', not 'monitoring'" in capsys.readouterr().err


def test_a_monitor_altered_in_the_artifact_store_is_refused(
    lifecycle: Lifecycle, capsys: pytest.CaptureFixture[str]
) -> None:
    source = lifecycle.client.get_model_version_download_uri(MONITORING, "1")
    stored = Path(source.removeprefix("file://")) / "artifacts" / "estimator.npz"
    original = stored.read_bytes()
    report_dir = lifecycle.root / "tampered"
    args = ["--model", f"models:/{MONITORING}/1", "--history", "t.csv"]
    try:
        stored.write_bytes(original + b"\0")
        code = cli(["monitor", str(lifecycle.lots), *args, "--report-dir", str(report_dir)])
    finally:
        stored.write_bytes(original)
    assert code == 2
    err = capsys.readouterr().err
    assert "estimator.npz in the artifact store has sha256" in err
    assert "recorded at registration (sealaudit.sha256.estimator)" in err
    assert not (report_dir / "monitoring_report.json").exists()
