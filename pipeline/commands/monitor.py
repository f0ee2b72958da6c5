"""``sealaudit monitor BATCH_DIR``: drift surveillance of a production batch.

The monitor is a local ``monitor.npz`` (``--reference``) or the one a registered monitoring
model packages (``--model models:/sealaudit-monitoring@shadow``, ``@champion`` or ``/VERSION``):
fetched with its checkpoint into ``REPORT_DIR/model/`` and verified against the sha256 the
registry recorded at registration (``pipeline.registry.resolve``).

Exit codes: 0 the process is in control, 3 an alarm fired (see the report's
``alarm_sources``), 2 a user error (missing folder, unusable history, wrong reference, ...).
Unreadable images are reported and skipped; they do not change the exit code.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

BATCH = 32  # images per forward pass (runtime only; scores do not depend on it)
EPILOG = (
    "alarms are one-sided: only scores above the reference raise one (a lot scoring lower, "
    "e.g. images the monitor was trained on, is noted as below_reference); exit codes: 0 in "
    "control; 3 alarm (EWMA/CUSUM chart, lot test or exceedance, see the report); 2 user error"
)


def register(commands: argparse._SubParsersAction) -> None:
    """Add the ``monitor`` command."""
    parser = commands.add_parser(
        "monitor",
        help="score a production batch and check it for process drift",
        description="Score a production batch, append it to the history, chart and test it.",
        epilog=EPILOG,
    )
    parser.add_argument("batch_dir", type=Path, metavar="BATCH_DIR", help="folder of lot images")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--reference",
        help="calibrated monitor: path of monitor.npz with its decision threshold "
        "(artifacts/calibrate/monitor.npz; fit_monitor's own file has none)",
    )
    source.add_argument(
        "--model",
        help="registered monitoring model: models:/NAME@ALIAS or models:/NAME/VERSION "
        "(e.g. models:/sealaudit-monitoring@shadow); its monitor and checkpoint are fetched "
        "into REPORT_DIR/model/ and verified against the registry's sha256 tags",
    )
    parser.add_argument(
        "--checkpoint",
        type=Path,
        default=None,
        help="with --reference: autoencoder model.pt (default: the path recorded at fit time, "
        "from the cwd); a registered model carries its own",
    )
    parser.add_argument("--history", type=Path, required=True, help="append-only history CSV")
    parser.add_argument("--report-dir", type=Path, required=True, help="report output folder")
    parser.add_argument(
        "--lots",
        type=Path,
        default=None,
        help="CSV with file, lot_id, timestamp (default: parse <lot>_<YYYYMMDD>_<HHMMSS>_<n>)",
    )
    parser.add_argument(
        "--new-history",
        action="store_true",
        help="archive a history of another model version (renamed aside) and start a new one",
    )
    parser.set_defaults(handler=_monitor)


def _monitor(args: argparse.Namespace) -> int:
    from pipeline.detector import monitoring_detector
    from pipeline.monitoring.surveillance import surveil

    reference = _resolve(args)
    detector = monitoring_detector(reference.monitor, reference.checkpoint, BATCH)
    report = surveil(
        args.batch_dir,
        reference,
        detector,
        args.history,
        args.report_dir,
        lots_csv=args.lots,
        new_history=args.new_history,
    )
    verdict = "ALARM (" + ", ".join(report["alarm_sources"]) + ")" if report["alarm"] else "ok"
    print(
        f"{report['images']['scored']} scored, {len(report['images']['skipped'])} skipped, "
        f"{len(report['lots'])} lot(s): {verdict}; report in {args.report_dir}"
    )
    if report["below_reference"]:
        print(
            "note: scores below the reference in " + ", ".join(report["below_reference"]) + "; "
            "not an alarm (images the monitor was fitted on score this low: are they "
            "production images?)"
        )
    return int(report["exit_code"])


def _resolve(args: argparse.Namespace) -> Any:
    """The ``ResolvedReference`` of ``--model`` (a registered version) or ``--reference``."""
    from pipeline.errors import SealauditError
    from pipeline.monitoring.fitted import resolve_reference

    uri = args.model or (args.reference if args.reference.startswith("models:/") else None)
    if uri is None:
        return resolve_reference(args.reference, args.checkpoint)
    if args.checkpoint is not None:
        raise SealauditError(
            f"--checkpoint {args.checkpoint}: a registered model packages its own checkpoint; "
            "drop --checkpoint (it is only for --reference monitor.npz)"
        )
    from pipeline.registry.resolve import registered_monitor

    return registered_monitor(uri, args.report_dir / "model")
