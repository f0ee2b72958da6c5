"""dvc.yaml, params.yaml and the typed configs agree (STYLE.md: one concept, one home).

DAG hygiene: a stage's deps cover every ``pipeline`` module it runs (its static import closure,
read with ``ast``, nothing imported) and every input path its ``cmd`` names, so ``dvc repro``
cannot skip a stage whose code or inputs changed.
"""

from __future__ import annotations

import ast
import dataclasses
import re
import shlex
import typing
from collections.abc import Iterable
from pathlib import Path

import pytest
import yaml

from pipeline.config import from_mapping, load_params_file, load_section, section_classes
from tests.params import merged

ROOT = Path(__file__).resolve().parents[2]
DVC = yaml.safe_load((ROOT / "dvc.yaml").read_text())
PARAMS = load_params_file(ROOT / "params.yaml")
# Sections used by commands rather than by a DVC stage: they shape the data that data.dvc (and
# challenge.dvc) track.
DATASET_SECTIONS = {"synth", "import_ssi", "challenge"}
STAGES = DVC["stages"]


# Flags whose value a stage writes, not reads.
OUTPUT_FLAGS = {"--out"}
# Flags naming the folder that holds every stage's outputs: the stage declares the files it reads
# under it one by one (a dep on the whole folder would include the stage's own outputs: a cycle).
EVIDENCE_ROOT_FLAGS = {"--evidence", "--evidence-dir"}
# Paths a stage names but must not depend on.
NOT_DEPS = {
    # tracked per key by the stage's `params:` list; a file dep would rerun every stage on any edit
    "params.yaml",
    # DVC rewrites dvc.lock after every stage it runs, so a dep on it would never be up to date;
    # the upstream hashes a stage reads from it are covered by its artifact deps
    "dvc.lock",
}


def _module_file(root: Path, name: str) -> Path | None:
    base = root.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _discovers_submodules(tree: ast.AST) -> bool:
    """``pkgutil.iter_modules(__path__)``: the package imports all its modules by name."""
    return any(
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "iter_modules"
        and any(isinstance(arg, ast.Name) and arg.id == "__path__" for arg in node.args)
        for node in ast.walk(tree)
    )


def _imported_names(path: Path, module: str) -> set[str]:
    """Every ``pipeline`` module name ``path`` imports anywhere, functions included."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            source = ".".join(part for part in (base, node.module) if part)
            # `from pkg import name`: name may be a submodule; one that is not resolves to nothing
            names.update({source} | {f"{source}.{alias.name}" for alias in node.names})
    if path.name == "__init__.py" and _discovers_submodules(tree):
        names.update(f"{module}.{child.stem}" for child in path.parent.iterdir())
    return {name for name in names if name.split(".")[0] == "pipeline"}


def import_closure(root: Path, module: str) -> set[str]:
    """Repo-relative files Python runs for ``python -m module``: the static ``pipeline`` imports,
    transitively, each with the ``__init__.py`` of every package above it."""
    seen: set[Path] = set()
    todo = [module]
    while todo:
        parts = todo.pop().split(".")
        for end in range(1, len(parts) + 1):
            name = ".".join(parts[:end])
            path = _module_file(root, name)
            if path is not None and path not in seen:
                seen.add(path)
                todo.extend(_imported_names(path, name))
    return {path.relative_to(root).as_posix() for path in seen}


def _covered(path: str, deps: Iterable[str]) -> bool:
    """A dep that is a folder covers everything under it."""
    return any(path == dep or path.startswith(dep.rstrip("/") + "/") for dep in deps)


def _stage_module(stage: dict) -> str:
    return re.search(r"python -m (pipeline\.\w+)", stage["cmd"]).group(1)


def missing_code_deps(stage: dict, root: Path = ROOT) -> list[str]:
    """Modules the stage imports (transitively) that none of its deps covers."""
    closure = import_closure(root, _stage_module(stage))
    return sorted(path for path in closure if not _covered(path, stage.get("deps", [])))


def _outs(stage: dict) -> set[str]:
    entries = [*stage.get("outs", []), *stage.get("metrics", []), *stage.get("plots", [])]
    return {next(iter(entry)) if isinstance(entry, dict) else entry for entry in entries}


def _tracked_by(root: Path, dvc_file: str) -> list[str]:
    """What a ``.dvc`` file tracks: DVC refuses the file itself as a dep, so a stage that reads
    it depends on what it tracks (the file records that path's hash, nothing else)."""
    path = root / dvc_file
    if path.suffix != ".dvc" or not path.is_file():
        return []
    outs = yaml.safe_load(path.read_text())["outs"]
    return [(path.parent / out["path"]).relative_to(root).as_posix() for out in outs]


def _dvc_tracked(root: Path) -> set[str]:
    """Paths tracked by the top-level ``.dvc`` files (absent from a fresh clone until pulled)."""
    files = [path.name for path in root.glob("*.dvc") if path.is_file()]
    return {tracked for name in files for tracked in _tracked_by(root, name)}


def _cmd_path_args(cmd: str) -> list[tuple[str, str]]:
    """``--flag value [value ...]`` pairs of a command line, one pair per value."""
    pairs, flag = [], None
    for token in shlex.split(cmd):
        if token.startswith("--"):
            flag, _, value = token.partition("=")
            if value:
                pairs.append((flag, value))
        elif flag is not None:
            pairs.append((flag, token))
    return pairs


def missing_path_deps(name: str, stages: dict, root: Path = ROOT) -> list[str]:
    """``--flag path`` inputs of the stage's cmd (paths in the repo, tracked by DVC or written
    by another stage) that are neither its deps nor its outs."""
    stage = stages[name]
    others = {out for other, s in stages.items() if other != name for out in _outs(s)}
    known = others | _dvc_tracked(root)
    missing = []
    for flag, path in _cmd_path_args(stage["cmd"]):
        if flag in OUTPUT_FLAGS | EVIDENCE_ROOT_FLAGS or path in NOT_DEPS:
            continue
        if not ((root / path).exists() or _covered(path, known)):
            continue
        needed = _tracked_by(root, path) or [path]
        have = [*stage.get("deps", []), *_outs(stage)]
        missing += [f"{flag} {path}" for want in needed if not _covered(want, have)]
    return missing


def _stage_params(stage: dict) -> set[str]:
    names = set()
    for entry in stage.get("params", []):
        names.update(entry if isinstance(entry, dict) else [entry.split(".")[0]])
    return names


@pytest.mark.parametrize("name", sorted(STAGES))
def test_stage_module_exists_and_is_a_dependency(name: str) -> None:
    stage = STAGES[name]
    path = _stage_module(stage).replace(".", "/") + ".py"
    assert (ROOT / path).is_file(), f"{name}: {path} missing"
    assert path in stage["deps"], f"{name}: its own module {path} is not in deps"


@pytest.mark.parametrize("name", sorted(STAGES))
def test_stage_outputs_live_outside_data(name: str) -> None:
    stage = STAGES[name]
    outputs = [next(iter(o)) if isinstance(o, dict) else o for o in stage.get("outs", [])]
    outputs += [next(iter(m)) if isinstance(m, dict) else m for m in stage.get("metrics", [])]
    assert outputs, f"{name}: declares no output"
    for output in outputs:
        assert not output.startswith("data"), f"{name}: output {output} inside data/"
        assert "mlflow" not in output, f"{name}: MLflow state must never be a DVC output"


def test_every_params_section_is_typed_and_used() -> None:
    used = set().union(*(_stage_params(s) for s in STAGES.values())) | DATASET_SECTIONS
    assert set(PARAMS) == set(section_classes()), "params.yaml sections vs pipeline/config"
    assert set(PARAMS) == used, "a params section no stage or command reads is dead"


@pytest.mark.parametrize("section", sorted(section_classes()))
def test_params_yaml_gives_every_field_of_every_section(section: str) -> None:
    """params.yaml is the one source of values: the dataclasses have no defaults to fall back on."""
    loaded = load_section(ROOT / "params.yaml", section)
    assert all(not _has_default(field) for field in _all_fields(type(loaded))), section


@pytest.mark.parametrize("overlay", sorted((ROOT / "params").glob("*.yaml")), ids=lambda p: p.name)
def test_a_profile_overlay_names_known_keys_only(overlay: Path) -> None:
    """params/<profile>.yaml is applied over params.yaml (dvc exp run -S, or copying sections)."""
    changes, classes = load_params_file(overlay), section_classes()
    assert changes and set(changes) <= set(classes), f"{overlay.name}: unknown section(s)"
    applied = merged(PARAMS, changes)
    for section in changes:  # an unknown or mistyped key, at any depth, is a ParamsError
        from_mapping(classes[section], applied[section], where=f"{overlay.name}:{section}")


@pytest.mark.parametrize("name", ["train", "fit_monitor", "evaluate"])
def test_torch_stages_declare_the_shared_thread_count(name: str) -> None:
    assert "base.torch_threads" in STAGES[name]["params"], (
        f"{name}: base.torch_threads not in params"
    )


def _all_fields(cls: type) -> list[dataclasses.Field]:
    hints = typing.get_type_hints(cls)
    fields = list(dataclasses.fields(cls))
    for field in dataclasses.fields(cls):
        if dataclasses.is_dataclass(hints[field.name]):
            fields += _all_fields(hints[field.name])
    return fields


def _has_default(field: dataclasses.Field) -> bool:
    return not (
        field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
    )


@pytest.mark.parametrize("name", sorted(STAGES))
def test_stage_deps_cover_its_imports(name: str) -> None:
    missing = missing_code_deps(STAGES[name])
    assert not missing, (
        f"{name}: imports {missing} but no dvc.yaml dep covers them, so `dvc repro` would skip "
        "the stage when they change; add each file (or its sub-package folder) to its deps"
    )


@pytest.mark.parametrize("name", sorted(STAGES))
def test_stage_deps_cover_its_cmd_inputs(name: str) -> None:
    missing = missing_path_deps(name, STAGES)
    assert not missing, f"{name}: cmd reads {missing}; add each path to the stage's deps"


@pytest.mark.parametrize("name", sorted(STAGES))
def test_stage_code_deps_are_imported(name: str) -> None:
    """No stale code dep: each one under pipeline/ is, or holds, a module the stage imports."""
    closure = import_closure(ROOT, _stage_module(STAGES[name]))
    code = [dep for dep in STAGES[name]["deps"] if dep.startswith("pipeline/")]
    stale = [dep for dep in code if not any(_covered(path, [dep]) for path in closure)]
    assert not stale, f"{name}: deps {stale} are never imported by the stage; remove them"


@pytest.mark.parametrize("name", sorted(STAGES))
def test_stage_deps_exist(name: str) -> None:
    produced = {out for other, s in STAGES.items() if other != name for out in _outs(s)}
    known = produced | _dvc_tracked(ROOT)
    absent = [
        dep
        for dep in STAGES[name]["deps"]
        if not (ROOT / dep).exists()
        and not _covered(dep, known)
        and not any(_covered(out, [dep]) for out in known)  # a folder of another stage's outs
    ]
    assert not absent, f"{name}: deps {absent} exist nowhere and no stage or .dvc file makes them"


def test_dvcignore_keeps_bytecode_out_of_folder_deps() -> None:
    """A folder dep on code hashes every file in it: ``__pycache__`` would mark it changed."""
    folders = [d for s in STAGES.values() for d in s["deps"] if (ROOT / d).is_dir()]
    ignored = (ROOT / ".dvcignore").read_text().split()
    assert not any(d.startswith("pipeline/") for d in folders) or "__pycache__/" in ignored, (
        ".dvcignore: add a `__pycache__/` line, or `dvc status` reports code deps as changed"
    )


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def test_import_closure_follows_every_import_form(tmp_path: Path) -> None:
    """Imports inside functions, relative ones, ``from pkg import submodule``, the packages'
    ``__init__.py`` and a package that discovers its modules all count; ``unused`` does not."""
    local_import = "def run():\n    from pipeline.sub import helper\n"
    discovery = "import pkgutil\nfor m in pkgutil.iter_modules(__path__):\n    pass\n"
    world = {
        "pipeline/__init__.py": "",
        "pipeline/stage.py": "import pipeline.errors\n\n" + local_import,
        "pipeline/errors.py": "import os\n",
        "pipeline/unused.py": "",
        "pipeline/sub/__init__.py": "",
        "pipeline/sub/helper.py": "from .deep import thing\nfrom pipeline.config import load\n",
        "pipeline/sub/deep.py": "thing = 1\n",
        "pipeline/config/__init__.py": discovery,
        "pipeline/config/train.py": "",
    }
    _write(tmp_path, world)
    assert import_closure(tmp_path, "pipeline.stage") == set(world) - {"pipeline/unused.py"}


def test_a_stage_missing_an_imported_module_is_reported() -> None:
    train = {**STAGES["train"], "deps": [d for d in STAGES["train"]["deps"] if "roi" not in d]}
    assert missing_code_deps(train) == ["pipeline/models/roi.py"]
    evaluate = {**STAGES["evaluate"], "deps": ["pipeline/evaluate.py"]}
    assert "pipeline/evaluation/intervals.py" in missing_code_deps(evaluate)
    assert "pipeline/config/base.py" in missing_code_deps(evaluate)


def test_a_stage_missing_a_cmd_input_is_reported(tmp_path: Path) -> None:
    _write(tmp_path, {"req.lock": "", "params.yaml": "", "data.dvc": "outs:\n- path: data\n"})
    cmd = (
        "python -m pipeline.x --data data --splits artifacts/a/s.csv --requirements req.lock "
        "--params params.yaml --dvc-lock dvc.lock --records data.dvc --out artifacts/x --seed 3"
    )
    stages = {
        "a": {"cmd": "python -m pipeline.a", "outs": ["artifacts/a/s.csv"]},
        "x": {"cmd": cmd, "deps": ["artifacts/a"], "outs": ["artifacts/x"]},
    }
    assert missing_path_deps("x", stages, tmp_path) == [
        "--data data",
        "--requirements req.lock",
        "--records data.dvc",
    ]
