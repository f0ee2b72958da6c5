"""DVC stage ``render_dossier``: one validation dossier (HTML + PDF) per registered mode.

Reads its declared inputs only (the stages' JSON files, reviewed files under ``validation/``)
and writes ``<model>-v<version>.{html,pdf,pdf.sha256,json}`` into the output folder; the version
comes from ``register/registration.json`` ("unregistered" without).

The registry is no input: neither the champion's evidence (a comparison) nor the audit log
(signatures, audit trail). ``sealaudit dossier --model M --version V [--compare]`` adds them
from the registry as it is when a person asks. The audit log is not declared as a dep either:
it lives outside DVC (git-ignored, absent from a fresh clone, so ``dvc repro`` would refuse the
missing dep; its path follows ``$SEALAUDIT_AUDIT_LOG``, which dvc.yaml cannot), and each
promotion appends to it the sha256 of this very PDF, so a dep would make the signed dossier stale
the moment it is signed and the next ``dvc repro`` would overwrite it with an unsigned one.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipeline import evidence
from pipeline.config import load_section
from pipeline.config.register import Params as RegisterParams
from pipeline.config.render_dossier import Params
from pipeline.dossier.evidence import EvidencePaths
from pipeline.dossier.produce import produce_dossier
from pipeline.dossier.render import quiet_weasyprint
from pipeline.errors import SealauditError
from pipeline.evidence.gate import require_passed_governance
from pipeline.runtime import configure_logging

log = logging.getLogger(__name__)


def run(
    paths: EvidencePaths,
    params: Params,
    register: RegisterParams,
    templates_dir: Path,
    out_dir: Path,
) -> list[dict[str, Any]]:
    """Render the dossier of every mode in ``params.modes``; return their sidecars."""
    sidecars = []
    for mode in params.modes:
        default_name = register.model_name(mode)
        sidecars.append(produce_dossier(paths, mode, params, default_name, templates_dir, out_dir))
    return sidecars


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the stage's paths (from dvc.yaml) and run it."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--evidence-dir", type=Path, required=True, help="stage outputs root")
    parser.add_argument("--validation", type=Path, required=True, help="reviewed files")
    parser.add_argument("--params", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--templates", type=Path, required=True)
    parser.add_argument("--dataset-info", type=Path, required=True, help="data/dataset.json")
    parser.add_argument("--data-dvc", type=Path, required=True)
    parser.add_argument("--dvc-lock", type=Path, required=True)
    parser.add_argument(
        "--data", type=Path, default=Path("data"), help="the dataset governance must have passed"
    )
    args = parser.parse_args(argv)
    configure_logging()
    quiet_weasyprint()
    try:
        require_passed_governance(evidence.path("governance", args.evidence_dir), args.data)
        paths = EvidencePaths(
            args.evidence_dir, args.validation, args.dataset_info, args.dvc_lock, args.data_dvc
        )
        params = load_section(args.params, "render_dossier")
        register = load_section(args.params, "register")
        run(paths, params, register, args.templates, args.out)
    except SealauditError as error:
        print(f"render_dossier: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
