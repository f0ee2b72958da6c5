"""The scale path: a real ``mlflow server`` with a PostgreSQL backend store, on loopback.

The test initialises a throw-away PostgreSQL cluster (Debian's ``postgresql`` package; as the
``postgres`` user when run as root, because initdb refuses root), starts ``mlflow server`` on
it, points ``MLFLOW_TRACKING_URI`` at the server and runs the same register -> promote ->
load-by-alias flow as on the embedded store. Two promotions of one model to ``champion`` then
race in two processes; one wins, the other is refused (compare-and-set), and the champion and
the audit log stay consistent. Skipped, with the
reason, where PostgreSQL or its Python driver is not installed; CI installs both.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.cli import main as cli
from pipeline.register import run as register_stage
from pipeline.registry.audit import read_entries, verify_log
from pipeline.registry.promotion import current_champion
from pipeline.registry.reconcile import audit_anchors
from pipeline.registry.tracking import AUDIT_LOG_ENV, TRACKING_ENV, connect
from tests.integration.processes import free_port, stop_process_group
from tests.integration.registry_world import (
    World,
    build_world,
    change_inline_evidence,
    write_dossier,
)
from tests.params import section

ROOT = Path(__file__).resolve().parents[2]
MODEL = "sealaudit-inline"
STARTUP_S = 180

pytestmark = pytest.mark.slow


def _pg_bin() -> Path | None:
    """Folder of initdb/pg_ctl from Debian's packages (newest major), or None."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=_major)
    if candidates:
        return candidates[-1].parent
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found else None


def _major(path: Path) -> int:
    part = path.parts[-3]
    return int(part) if part.isdigit() else 0


def _as_postgres(command: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: drop to the ``postgres`` user there."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """A fresh cluster on a free loopback port; yields its SQLAlchemy URI."""
    bin_dir = _pg_bin()
    if bin_dir is None or not (bin_dir / "pg_ctl").is_file():
        pytest.skip("PostgreSQL not installed (apt-get install postgresql); CI installs it")
    pytest.importorskip("psycopg", reason="psycopg (3) missing: install the test extras")
    base = Path(tempfile.mkdtemp(prefix="sealaudit-pg-"))  # under /tmp: postgres can enter it
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    data, port = base / "data", free_port()
    run = {"check": True, "capture_output": True, "timeout": 120}
    subprocess.run(
        _as_postgres([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                      "-E", "UTF8", "--no-sync"]), **run,
    )  # fmt: skip
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
    pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(data), "-w", "-t", "60"]
    subprocess.run(_as_postgres([*pg_ctl, "-o", options, "-l", str(base / "pg.log"), "start"]),
                   **run)  # fmt: skip
    try:
        subprocess.run(_as_postgres([str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p",
                                     str(port), "-U", "postgres", "mlflow"]), **run)  # fmt: skip
        yield f"postgresql://postgres@127.0.0.1:{port}/mlflow"
    finally:
        subprocess.run(_as_postgres([*pg_ctl, "-m", "fast", "stop"]), check=False, timeout=60)
        shutil.rmtree(base, ignore_errors=True)


def _ping(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return int(response.status) == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@pytest.fixture(scope="module")
def server(postgres: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``mlflow server`` on the cluster, artifacts proxied from a local folder."""
    folder = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    command = [
        str(Path(sys.executable).parent / "mlflow"), "server",
        "--backend-store-uri", postgres,
        "--artifacts-destination", str(folder / "artifacts"),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--uvicorn-opts", "--timeout-graceful-shutdown 2",  # clients keep connections open
    ]  # fmt: skip
    log_path = folder / "server.log"
    # Job execution (GenAI scorers) would start eight extra worker processes we never use.
    env = {
        **os.environ,
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    }
    env.pop(TRACKING_ENV, None)
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_S
        while not _ping(url):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"mlflow server did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        stop_process_group(process)


@pytest.fixture(scope="module")
def world(server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    world = build_world(tmp_path_factory.mktemp("server-world") / "repo")
    (world.root / "validation").mkdir()
    shutil.copy(ROOT / "validation" / "protocol.yaml", world.root / "validation")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(world.root)
        patch.setenv(TRACKING_ENV, server)
        patch.setenv(AUDIT_LOG_ENV, str(world.root / "team_audit.jsonl"))
        yield world


def _register(world: World) -> dict:
    out = world.root / "artifacts" / "register"
    return register_stage(
        world.evidence,
        section("register"),
        world.root / "dvc.lock",
        ROOT / "requirements.lock",
        out,
    )


def _promote(world: World, version: int, reason: str) -> subprocess.Popen:
    command = [
        str(Path(sys.executable).parent / "sealaudit"), "promote", MODEL, str(version),
        "--signer", "Grace Hopper", "--reason", reason,
    ]  # fmt: skip
    return subprocess.Popen(command, cwd=world.root, env=dict(os.environ),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip


def test_register_promote_and_load_by_alias_on_a_server(world: World, server: str) -> None:
    import mlflow

    record = _register(world)
    client, target = connect()
    assert not target.embedded and target.tracking_uri == server
    assert record["inline"]["created"] and not _register(world)["inline"]["created"]
    write_dossier(world.root / "reports" / "dossiers", record["inline"])
    sign = ["--signer", "Grace Hopper", "--reason", "server flow", "--alias", "shadow"]
    assert cli(["promote", MODEL, str(record["inline"]["version"]), *sign]) == 0
    assert current_champion(client, MODEL, "shadow") == str(record["inline"]["version"])
    model = mlflow.pyfunc.load_model(f"models:/{MODEL}@shadow")
    sent = pd.DataFrame({"image": [p.read_bytes() for p in world.images]})
    scores = model.predict(sent)["score"]
    np.testing.assert_allclose(scores, world.scores["inline"], rtol=1e-5, atol=1e-6)


def test_racing_promotions_leave_a_consistent_champion_and_log(world: World) -> None:
    # Version 1 (registered above, @shadow only) and a new passing version 2 race for
    # @champion; each has its dossier.
    change_inline_evidence(world, auroc_ci=(0.95, 0.99))
    entry = _register(world)["inline"]
    write_dossier(world.root / "reports" / "dossiers", entry)
    versions = [1, entry["version"]]
    assert versions == [1, 2]
    log_path = Path(os.environ[AUDIT_LOG_ENV])
    before = len(read_entries(log_path))
    racers = [_promote(world, version, f"race {version}") for version in versions]
    outputs = [racer.communicate(timeout=180)[0].decode() for racer in racers]
    codes = [racer.returncode for racer in racers]
    # Serialised and compare-and-set: both saw no champion; whoever came second finds the
    # first's version there and is refused, instead of silently replacing it.
    assert sorted(codes) == [0, 2], outputs
    loser = outputs[codes.index(2)]
    assert "not none as expected" in loser and "Traceback" not in loser, loser
    entries = read_entries(log_path)[before:]
    assert [e["action"] for e in entries] == ["promote"]
    winner = str(versions[codes.index(0)])
    assert entries[0]["version"] == winner and entries[0]["previous_champion"] is None
    client, _ = connect()
    assert current_champion(client, MODEL, "champion") == winner
    report = verify_log(log_path, audit_anchors(client))
    assert report.ok, report.problems
