"""``sealaudit dossier --model NAME --version N [--compare]``: the dossier of any registered
version.

The evidence is read back from the version's MLflow run (what it was registered with), not
from today's ``artifacts/``; the reviewed files come from ``--validation``. What only the
registry holds, and what the ``render_dossier`` stage therefore leaves out (its inputs are
declared in dvc.yaml), comes from the registry as it is now: the signatures and audit trail
of the audit log, with ``--compare`` the comparison with the version holding the champion
alias and, with ``--test-results FILE``, the test run the CSA assurance records and the
traceability matrix name.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
from pathlib import Path

import yaml

from pipeline.config import load_section
from pipeline.errors import SealauditError


def register(commands: argparse._SubParsersAction) -> None:
    """Add the ``dossier`` command."""
    parser = commands.add_parser("dossier", help="render the validation dossier of a version")
    parser.add_argument("--model", required=True, help="registered model name")
    parser.add_argument("--version", required=True, help="registered model version")
    parser.add_argument("--out", type=Path, default=Path("reports/dossiers"))
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--validation", type=Path, default=Path("validation"))
    parser.add_argument("--templates", type=Path, default=Path("reports/templates"))
    parser.add_argument("--dataset-info", type=Path, default=Path("data/dataset.json"))
    parser.add_argument("--data-dvc", type=Path, default=Path("data.dvc"))
    parser.add_argument("--audit-log", type=Path, default=None)
    parser.add_argument(
        "--test-results",
        type=Path,
        default=None,
        metavar="FILE",
        help="attach a test run's JUnit XML (`make test` writes reports/test-results/junit.xml): "
        "the CSA assurance records and the traceability matrix name its tests",
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="compare with the version holding the champion alias (register.champion_alias)",
    )
    parser.set_defaults(handler=_dossier)


def _dossier(args: argparse.Namespace) -> int:
    from pipeline.dossier.evidence import EvidencePaths
    from pipeline.dossier.junit import read_junit
    from pipeline.dossier.produce import champion_evidence, produce_dossier
    from pipeline.dossier.registry_evidence import fetch_version
    from pipeline.dossier.render import quiet_weasyprint
    from pipeline.registry.tracking import connect, default_audit_log

    if args.test_results is not None:
        read_junit(args.test_results)  # a bad file fails before the registry is asked
    quiet_weasyprint()
    params = load_section(args.params, "render_dossier")
    register_params = load_section(args.params, "register")
    client, _ = connect()
    with tempfile.TemporaryDirectory(prefix="sealaudit-dossier-") as tmp:
        companion = register_params.monitoring_model_name
        fetched = fetch_version(client, args.model, str(args.version), Path(tmp), companion)
        records = dataset_records(fetched.records, fetched.evidence_dir, args)
        paths = EvidencePaths(
            fetched.evidence_dir,
            args.validation,
            records["dataset.json"],
            records["dvc.lock"],
            records["data.dvc"],
            args.audit_log or default_audit_log(),
            args.test_results,
        )
        alias = register_params.champion_alias
        with (
            champion_evidence(paths, args.model, fetched.version, alias, companion)
            if args.compare
            else contextlib.nullcontext()
        ) as champion:
            sidecar = produce_dossier(
                paths,
                fetched.mode,
                params,
                args.model,
                args.templates,
                args.out,
                champion,
                compare=args.compare,
            )
    print(f"{args.out / sidecar['pdf']}: {sidecar['verdict']} (sha256 {sidecar['pdf_sha256']})")
    return 0


def dataset_records(
    recorded: dict[str, Path], evidence_dir: Path, args: argparse.Namespace
) -> dict[str, Path]:
    """dataset.json / data.dvc / dvc.lock of the version: from its run when recorded there,
    else the working tree's, but only when the working tree holds the same data version."""
    records = dict(recorded)
    if "dataset.json" not in records or "data.dvc" not in records:
        evaluation = json.loads((evidence_dir / "evaluate" / "evaluation.json").read_text())
        wanted = str(evaluation.get("provenance", {}).get("data_md5"))
        have = _dvc_md5(args.data_dvc)
        if have != wanted:
            raise SealauditError(
                f"{args.data_dvc}: dataset version {have} differs from the version's {wanted}; "
                "check out the commit that produced it (git checkout <commit> data.dvc && "
                "dvc checkout) and rerun"
            )
        records.setdefault("dataset.json", args.dataset_info)
        records.setdefault("data.dvc", args.data_dvc)
    records.setdefault("dvc.lock", evidence_dir / "dvc.lock.absent")
    return records


def _dvc_md5(path: Path) -> str:
    if not Path(path).is_file():
        return "untracked"
    content = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return str((content.get("outs") or [{}])[0].get("md5", "untracked"))
