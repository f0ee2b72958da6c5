"""A registry with three passing versions, copied fresh into each test's own repository.

Registration costs seconds, so it runs once per module: the real ``register`` stage registers
inline v1, and v2 and v3 are further versions of the same run (same evidence, same tags), so
each passes the gate. Each test then gets a repository of its own (``params.yaml``, the
protocol, dossiers for v1-v3, a copy of ``mlflow.db``): its aliases, tags and audit log are
its own. Faults are real: a SQLite trigger makes the store reject a write, another connection
holds the database locked.
"""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.register import run as register_stage
from pipeline.registry.tracking import connect
from tests.integration.registry_world import World, build_world, seed_tracking_db, write_dossier
from tests.params import section

ROOT = Path(__file__).resolve().parents[2]
PROTOCOL = ROOT / "validation" / "protocol.yaml"
INLINE = "sealaudit-inline"
VERSIONS = ("1", "2", "3")


@dataclass(frozen=True)
class Template:
    """The registered world every test copies."""

    world: World
    database: Path
    dossiers: Path


def register(world: World) -> dict[str, Any]:
    """Run the real ``register`` stage on ``world``."""
    out = world.root / "artifacts" / "register"
    return register_stage(
        world.evidence,
        section("register"),
        world.root / "dvc.lock",
        ROOT / "requirements.lock",
        out,
    )


def build_template(root: Path, cache: Path) -> Template:
    """Register inline v1 once, add v2 and v3 of the same run, write their dossiers.

    The caller has chdir'ed into ``root`` (the embedded store is found from the current
    folder) and cleared the MLflow variables.
    """
    world = build_world(root)
    copy_protocol(world.root)
    seed_tracking_db(cache, world.root)
    first = register(world)["inline"]
    client, _ = connect(world.root)
    v1 = client.get_model_version(INLINE, "1")
    dossiers = world.root / "reports" / "dossiers"
    for version in VERSIONS:
        if version != "1":
            client.create_model_version(INLINE, v1.source, v1.run_id, tags=v1.tags)
        write_dossier(dossiers, {**first, "version": int(version)})
    return Template(world, world.root / "mlflow.db", dossiers)


def copy_protocol(root: Path) -> None:
    """The repository's reviewed protocol, where ``promote`` looks for it."""
    (root / "validation").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PROTOCOL, root / "validation" / PROTOCOL.name)


def fresh_repo(template: Template, root: Path) -> Path:
    """A repository of its own holding a copy of the template's registry and dossiers."""
    root.mkdir(parents=True)
    (root / "dvc.yaml").write_text("stages: {}\n")
    shutil.copyfile(template.world.root / "params.yaml", root / "params.yaml")
    copy_protocol(root)
    shutil.copytree(template.dossiers, root / "reports" / "dossiers")
    _copy_database(template.database, root / "mlflow.db")
    return root


def _copy_database(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite store (SQLite's backup API, journal included)."""
    origin, copy = sqlite3.connect(source), sqlite3.connect(target)
    try:
        origin.backup(copy)
    finally:
        copy.close()
        origin.close()


def reject_writes(database: Path, table: str) -> None:
    """Make the store refuse every insert and update of ``table`` (a server-side fault)."""
    with sqlite3.connect(database) as connection:
        for event in ("INSERT", "UPDATE"):
            connection.execute(
                f"CREATE TRIGGER fault_{table}_{event.lower()} BEFORE {event} ON {table} "
                "BEGIN SELECT RAISE(ABORT, 'injected fault: disk I/O error'); END"
            )
    connection.close()


def accept_writes(database: Path, table: str) -> None:
    """Undo ``reject_writes``."""
    with sqlite3.connect(database) as connection:
        for event in ("insert", "update"):
            connection.execute(f"DROP TRIGGER fault_{table}_{event}")
    connection.close()
