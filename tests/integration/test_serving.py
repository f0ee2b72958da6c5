"""``mlflow models serve -m models:/<name>@champion --env-manager local`` answers on loopback.

The test registers and promotes a tiny world's models, starts the real scoring server in its
own process group, posts PNG images over REST, checks score and decision against the scores
the evidence was computed from, and stops the server by its PID.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from pipeline.cli import main as cli
from pipeline.register import run as register_stage
from pipeline.registry.pyfunc import IMAGE_ROOT_ENV
from pipeline.registry.tracking import AUDIT_LOG_ENV, TRACKING_ENV
from tests.integration.processes import free_port, stop_process_group
from tests.integration.registry_world import (
    World,
    build_world,
    seed_tracking_db,
    write_dossier,
)
from tests.params import section

ROOT = Path(__file__).resolve().parents[2]
MODEL = "sealaudit-inline"
STARTUP_S = 120

pytestmark = pytest.mark.slow


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0


def _post(url: str, payload: dict) -> tuple[int, dict]:
    body = json.dumps(payload).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return int(response.status), json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return int(error.code), json.loads(error.read() or b"{}")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    world = build_world(tmp_path_factory.mktemp("serving") / "repo")
    (world.root / "validation").mkdir()
    shutil.copy(ROOT / "validation" / "protocol.yaml", world.root / "validation")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(world.root)
        patch.setenv(TRACKING_ENV, "")
        patch.setenv(AUDIT_LOG_ENV, "")
        seed_tracking_db(tmp_path_factory.getbasetemp() / "mlflow-cache", world.root)
        out = world.root / "artifacts" / "register"
        lock = world.root / "dvc.lock"
        record = register_stage(
            world.evidence, section("register"), lock, ROOT / "requirements.lock", out
        )
        write_dossier(world.root / "reports" / "dossiers", record["inline"])
        sign = ["--signer", "Grace Hopper", "--reason", "serving test"]
        assert cli(["promote", MODEL, str(record["inline"]["version"]), *sign]) == 0
        yield world


@pytest.fixture(scope="module")
def server(world: World) -> Iterator[str]:
    port = free_port()
    bin_dir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        TRACKING_ENV: f"sqlite:///{world.root / 'mlflow.db'}",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        IMAGE_ROOT_ENV: str(world.images[-1].parent),
    }
    command = [
        str(Path(bin_dir) / "mlflow"), "models", "serve",
        "-m", f"models:/{MODEL}@champion", "--env-manager", "local",
        "-h", "127.0.0.1", "-p", str(port), "-w", "1",
    ]  # fmt: skip
    log_path = world.root / "serve.log"
    with log_path.open("wb") as log:
        # Own session: the server's workers share its process group, stopped together below.
        process = subprocess.Popen(
            command, cwd=world.root, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_S
        while _get(f"{url}/ping") != 200:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"server did not answer /ping:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        stop_process_group(process)


@pytest.mark.assures("inline_reject")
def test_server_answers_with_score_and_decision(world: World, server: str) -> None:
    images = [base64.b64encode(p.read_bytes()).decode() for p in world.images]
    payload = {"dataframe_split": {"columns": ["image"], "data": [[i] for i in images]}}
    status, answer = _post(f"{server}/invocations", payload)
    assert status == 200, answer
    rows = answer["predictions"]
    threshold = world.thresholds["inline"]
    np.testing.assert_allclose(
        [r["score"] for r in rows], world.scores["inline"], rtol=1e-5, atol=1e-6
    )
    expected = ["REJECT" if s > threshold.value else "PASS" for s in world.scores["inline"]]
    assert [r["decision"] for r in rows] == expected
    assert {r["threshold_id"] for r in rows} == {threshold.threshold_id}
    assert {"PASS", "REJECT"} == set(expected)  # both decisions exercised


@pytest.mark.assures("inline_reject", "HZ-06")
def test_server_accepts_paths_and_rejects_garbage(world: World, server: str) -> None:
    path = str(world.images[-1])
    status, answer = _post(
        f"{server}/invocations",
        {"dataframe_records": [{"image_path": path}], "params": {"return_heatmap": True}},
    )
    assert status == 200, answer
    assert answer["predictions"][0]["score"] == pytest.approx(world.scores["inline"][-1], 1e-5)
    assert answer["predictions"][0]["heatmap"]  # base64 PNG
    refused = []
    for probe in (world.root / "mlflow.db", world.root / "absent.png", "../mlflow.db"):
        status, answer = _post(
            f"{server}/invocations", {"dataframe_records": [{"image_path": str(probe)}]}
        )
        refused.append((status, answer.get("message")))
    assert len(set(refused)) == 1 and refused[0][0] == 400  # outside or missing: same answer
    bad = base64.b64encode(b"not a png").decode()
    status, _ = _post(
        f"{server}/invocations", {"dataframe_split": {"columns": ["image"], "data": [[bad]]}}
    )
    assert status == 400


@pytest.mark.assures("inline_reject", "threshold_configuration", "HZ-06")
def test_inspect_prints_decisions_writes_heatmaps_and_survives_a_bad_image(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"not a png")
    heatmaps = tmp_path / "heatmaps"
    paths = [str(p) for p in world.images] + [str(corrupt)]
    code = cli(
        ["inspect", *paths, "--model", f"models:/{MODEL}@champion", "--heatmaps", str(heatmaps)]
    )
    out, err = capsys.readouterr()
    assert code == 2  # one image could not be inspected; the others were
    assert "corrupt.png" in err and err.count("\n") == 1
    rows = [line.split("\t") for line in out.strip().splitlines()[1:]]
    assert len(rows) == len(world.images)
    threshold = world.thresholds["inline"]
    expected = ["REJECT" if s > threshold.value else "PASS" for s in world.scores["inline"]]
    assert [row[3] for row in rows] == expected
    np.testing.assert_allclose([float(r[1]) for r in rows], world.scores["inline"], atol=1e-5)
    assert len(list(heatmaps.glob("*_heatmap.png"))) == len(world.images)
