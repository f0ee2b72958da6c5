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
        "With --rollback, restore the previous holder of --alias. Any other criteria file "
        "(--criteria) is a recorded deviation: shadow at most, never champion. Every decision "
        "is compare-and-set (--expect-current), signed and appended to the audit log, "
        "authenticated with the audit key ($SEALAUDIT_AUDIT_KEY_FILE, default "
        "~/.config/sealaudit/audit.key, created 0600 on first use).",
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
        "--expect-current",
        metavar="VERSION",
        default=None,
        help="the version you saw holding --alias (v3, or none): the decision is made only if "
        "it still does (default: the holder read when the command starts)",
    )
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
        "a recorded deviation that may reach shadow, never champion)",
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
    verify = actions.add_parser(
        "verify",
        help="verify the chain, the entries' MACs, the registry anchors, and that the log "
        "explains every alias and decision tag in the registry (exit 0 intact, 1 not)",
    )
    verify.add_argument(
        "--log",
        type=Path,
        default=None,
        help="default: $SEALAUDIT_AUDIT_LOG or <repo>/registry_audit.jsonl",
    )
    verify.add_argument(
        "--offline",
        action="store_true",
        help="check the chain and MACs only, not against the registry",
    )
    verify.set_defaults(handler=_verify)


def _promote(args: argparse.Namespace) -> int:
    from pipeline.errors import SealauditError
    from pipeline.registry.holders import SEEN, parse_expected
    from pipeline.registry.promotion import Signature, promote, rollback
    from pipeline.registry.tracking import connect, default_audit_log, repo_root, resolve_target

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
    expected = SEEN if args.expect_current is None else parse_expected(args.expect_current)
    audit_log = args.audit_log or default_audit_log()
    with _store_errors(resolve_target().tracking_uri, "promote"):
        client, _ = connect()
        if args.rollback:
            decision = rollback(
                client, model, signature, alias=alias, audit_log=audit_log, expected=expected
            )
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
                expected=expected,
            )
    _print_decision(decision)
    return EXIT_REFUSED if decision.action == "refuse" else 0


def _store_errors(store: str, command: str) -> Any:
    from pipeline.registry.outage import store_errors

    return store_errors(
        store, f"nothing was recorded; run `sealaudit {command}` again when it answers"
    )


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
    from pipeline.registry.audit import read_entries
    from pipeline.registry.tracking import default_audit_log, resolve_target

    path = args.log or default_audit_log()
    with _store_errors(resolve_target().tracking_uri, "audit verify"):
        problems, notes, count = _verify_problems(path, args.offline)
    if not problems and count == 0:
        # A fresh install has signed nothing yet: an empty trail is a valid one.
        print(f"audit log: no entries yet ({path})")
        return 0
    if not problems:
        noun = "entry" if count == 1 else "entries"
        head = read_entries(path)[-1]["hash"]
        print(f"OK: {path}: {count} {noun}, chain intact, head {head[:16]}")
    else:
        print(f"FAILED: {path}: {len(problems)} problem(s)")
    for line in [*(f"  {p}" for p in problems), *(f"  {n}" for n in notes)]:
        print(line)
    return EXIT_REFUSED if problems else 0


def _verify_problems(path: Path, offline: bool) -> tuple[list[str], list[str], int]:
    """Problems, notes (key, registry, deviations) and the entry count of ``path``."""
    from pipeline.registry.audit import AuditError, key_id, read_entries, verify_log
    from pipeline.registry.audit_key import key_path, load_key
    from pipeline.registry.reconcile import deviations

    try:
        entries = read_entries(path)
    except AuditError:
        entries = []  # verify_log reports the damaged line
    key = load_key()
    registry = None if offline else _registry(entries)
    report = verify_log(path, registry.anchors if registry is not None else None, key)
    problems = list(report.problems)
    if key is None and report.entries:
        problems.append(
            f"no audit key at {key_path()}: the {report.entries} entries cannot be "
            "authenticated; restore the key file from its backup ($SEALAUDIT_AUDIT_KEY_FILE)"
        )
    notes = [f"entries authenticated with audit key {key_id(key)}"] if key and report.ok else []
    if registry is not None:
        problems += registry.problems
        if not registry.problems:
            notes.append(f"registry: {registry.aliases} alias(es), each explained by the log")
    elif not offline:
        notes.append("no registry found: checked the chain and MACs only")
    notes += [f"deviation: {line}" for line in deviations(entries)]
    return problems, notes, report.entries


def _registry(entries: list[dict[str, Any]]) -> Any:
    """The log replayed against the registry; None when there is no registry."""
    from pipeline.registry.reconcile import reconcile
    from pipeline.registry.tracking import connect, resolve_target

    target = resolve_target()
    if target.embedded and not Path(target.tracking_uri.removeprefix("sqlite:///")).is_file():
        return None
    return reconcile(connect()[0], entries)
