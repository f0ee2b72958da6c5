"""``sealaudit promote`` and ``sealaudit audit verify``: releases and their audit trail."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pipeline.registry.audit import MEANINGS

EXIT_REFUSED = 1
DOSSIERS = Path("reports") / "dossiers"


def register(commands: argparse._SubParsersAction) -> None:
    """Add the ``promote`` command and the ``audit`` group."""
    promote = commands.add_parser(
        "promote",
        help="move a registry alias to a model version whose evidence meets the criteria",
        description="Promote MODEL VERSION to --alias (shadow: beside human inspection, "
        "decisions unused; champion: released) if its recorded evidence meets the criteria "
        "validation/protocol.yaml requires for that alias; a refusal lists each unmet "
        "criterion, a shadow promotion the champion criteria still unmet. "
        "With --rollback, restore the previous holder of --alias. Every decision is signed "
        "and appended to the audit log.",
    )
    promote.add_argument(
        "model", help="registered model name (e.g. sealaudit-inline) or a mode (inline)"
    )
    promote.add_argument("version", nargs="?", help="model version (not with --rollback)")
    promote.add_argument(
        "--alias",
        default=None,
        help="shadow or champion (register.shadow_alias / register.champion_alias; "
        "default: champion)",
    )
    promote.add_argument("--reason", required=True, help="why (recorded with the signature)")
    promote.add_argument("--signer", required=True, help="printed name of the person signing")
    promote.add_argument(
        "--meaning",
        choices=MEANINGS,
        default="approved",
        help="meaning of the signature (default: approved)",
    )
    promote.add_argument("--role", default="", help="signer's role, e.g. 'QA manager'")
    promote.add_argument("--rollback", action="store_true", help="restore the previous holder")
    promote.add_argument(
        "--audit-log",
        type=Path,
        default=None,
        help="default: $SEALAUDIT_AUDIT_LOG or <repo>/registry_audit.jsonl",
    )
    promote.add_argument(
        "--criteria",
        type=Path,
        default=None,
        help="validation protocol (default: <repo>/validation/protocol.yaml; another file is "
        "recorded as a deviation)",
    )
    promote.add_argument("--params", type=Path, default=Path("params.yaml"))
    promote.add_argument(
        "--dossiers",
        type=Path,
        default=None,
        help="folder with rendered dossiers and their JSON sidecars "
        "(default: <repo>/reports/dossiers)",
    )
    promote.set_defaults(handler=_promote)

    audit = commands.add_parser("audit", help="check the registry's audit log")
    actions = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    verify = actions.add_parser("verify", help="verify the hash chain (and registry anchors)")
    verify.add_argument(
        "--log",
        type=Path,
        default=None,
        help="default: $SEALAUDIT_AUDIT_LOG or <repo>/registry_audit.jsonl",
    )
    verify.add_argument(
        "--offline",
        action="store_true",
        help="check the chain only, not the heads recorded in the registry",
    )
    verify.set_defaults(handler=_verify)


def _promote(args: argparse.Namespace) -> int:
    from pipeline.errors import SealauditError
    from pipeline.registry.promotion import Signature, promote, rollback
    from pipeline.registry.tracking import connect, default_audit_log, repo_root

    if args.rollback == (args.version is not None):
        raise SealauditError("give VERSION to promote, or --rollback without a VERSION")
    signature = Signature(args.signer.strip(), args.meaning, args.reason.strip(), args.role)
    if not signature.reason:
        raise SealauditError("--reason is empty: say why, it is part of the signed record")
    params = _register_params(args.params)
    model = params.model_name(args.model) if args.model in ("inline", "monitoring") else args.model
    alias = args.alias or params.champion_alias
    try:
        gate = params.gate(alias)
    except ValueError as error:
        raise SealauditError(str(error)) from error
    client, _ = connect()
    audit_log = args.audit_log or default_audit_log()
    if args.rollback:
        decision = rollback(client, model, signature, alias=alias, audit_log=audit_log)
    else:
        decision = promote(
            client,
            model,
            args.version,
            signature,
            alias=alias,
            audit_log=audit_log,
            criteria_path=args.criteria,
            dossier_dir=args.dossiers or repo_root() / DOSSIERS,
            gate=gate,
        )
    _print_decision(decision)
    return EXIT_REFUSED if decision.action == "refuse" else 0


def _register_params(path: Path) -> Any:
    """The ``register`` section (names, alias) of ``--params``; a missing file is an error."""
    from pipeline.config import load_section

    return load_section(path, "register")


def _print_decision(decision: Any) -> None:
    from pipeline.registry.predates import status_lines

    entry = decision.entry
    where = f"{decision.model_name}@{entry['alias']}"
    if decision.action == "refuse":
        print(f"REFUSED: {decision.model_name} v{decision.version} not promoted to {where}")
        for result in decision.unmet:
            _print_unmet("unmet", result)
    else:
        verb = "PROMOTED" if decision.action == "promote" else "ROLLED BACK"
        previous = decision.previous_champion
        was = f"v{previous}" if previous is not None else "held by no version"
        print(f"{verb}: {where} -> v{decision.version} (was {was})")
    if decision.action == "promote" and decision.gate == "shadow":
        for result in decision.champion_unmet:
            _print_unmet("shadow only, champion criterion not met:", result)
    if "protocol" in entry:
        for line in status_lines(entry["protocol"]):
            print(f"  {line}")
    print(
        f"  signed {entry['signed_at']} by {entry['signer']} ({entry['meaning']}); "
        f"audit entry {entry['seq']} {entry['hash'][:16]}"
    )


def _print_unmet(label: str, result: dict[str, Any]) -> None:
    print(
        f"  {label} {result['id']}: {result['description']} "
        f"(observed {_fmt(result['observed'])}, limit {_fmt(result['limit'])})"
    )
    for detail in result.get("details", []):
        if not detail["passed"]:
            print(f"    {detail['text']}")


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _verify(args: argparse.Namespace) -> int:
    from pipeline.registry.audit import verify_log
    from pipeline.registry.tracking import default_audit_log

    path = args.log or default_audit_log()
    report = verify_log(path, None if args.offline else _registry_anchors())
    if report.ok and report.entries == 0:
        # A fresh install has signed nothing yet: an empty trail is a valid one.
        print(f"audit log: no entries yet ({path})")
        return 0
    if report.ok:
        noun = "entry" if report.entries == 1 else "entries"
        print(f"OK: {path}: {report.entries} {noun}, chain intact, head {report.head_hash[:16]}")
        return 0
    print(f"FAILED: {path}: {len(report.problems)} problem(s)")
    for problem in report.problems:
        print(f"  {problem}")
    return EXIT_REFUSED


def _registry_anchors() -> dict[int, str] | None:
    """Log heads recorded in the registry; None (chain only) when there is no registry."""
    from pipeline.registry.promotion import audit_anchors
    from pipeline.registry.tracking import connect, resolve_target

    target = resolve_target()
    if target.embedded and not Path(target.tracking_uri.removeprefix("sqlite:///")).is_file():
        print(f"note: no registry at {target.tracking_uri}; checking the hash chain only")
        return None
    return audit_anchors(connect()[0])
