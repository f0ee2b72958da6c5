"""DVC stage ``render_dossier``: one validation dossier (HTML + PDF) per registered mode.

Reads evidence only (the stages' JSON files, reviewed files under ``validation/``, the
registry's audit log) and writes ``<model>-v<version>.{html,pdf,pdf.sha256,json}`` into the
output folder; the version comes from ``register/registration.json`` ("unregistered" without).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipeline.config import load_section
from pipeline.config.register import Params as RegisterParams
from pipeline.config.render_dossier import Params
from pipeline.dossier.evidence import EvidencePaths
from pipeline.dossier.produce import champion_evidence, produce_dossier, registered_identity
from pipeline.dossier.render import quiet_weasyprint
from pipeline.errors import SealauditError
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
        name, version = registered_identity(paths.evidence_dir, mode, default_name)
        with (
            champion_evidence(
                paths, name, version, register.champion_alias, register.monitoring_model_name
            )
            if params.compare_with_champion
            else contextlib.nullcontext()
        ) as champion:
            sidecars.append(
                produce_dossier(paths, mode, params, default_name, templates_dir, out_dir, champion)
            )
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
    parser.add_argument("--audit-log", type=Path, default=None, help="registry audit log")
    args = parser.parse_args(argv)
    configure_logging()
    quiet_weasyprint()
    try:
        from pipeline.registry.tracking import default_audit_log

        paths = EvidencePaths(
            args.evidence_dir,
            args.validation,
            args.dataset_info,
            args.dvc_lock,
            args.data_dvc,
            args.audit_log or default_audit_log(),
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
