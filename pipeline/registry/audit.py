"""Tamper-evident audit log of registry decisions: hash-chained JSON lines.

Each line is one JSON object. Its ``hash`` is the SHA-256 of the canonical JSON of the entry
without ``hash`` and ``mac`` (which includes ``prev_hash``, the previous line's hash; the first
line's is 64 zeros), so editing, reordering or deleting any line breaks the chain at that point.
A chain anyone can recompute does not stop a forged line, so ``mac`` authenticates each
``hash`` with a key kept outside the log (``pipeline.registry.audit_key``). Deleting the *last*
lines leaves a valid shorter chain, and appending keeps one; ``verify_log`` therefore also takes
anchors (``seq`` -> ``hash`` recorded in the registry): each must be present, and nothing may
follow the newest.

Entries are an audit trail (21 CFR 11.10(e): who did what, when, and why), with the operator's
printed name, the date and time (UTC, ISO-8601) and the stated meaning of the action. They are
not electronic signatures in the sense of 21 CFR 11.50/11.70/11.100-300 (no identity
verification, no signature/record binding by a controlled component): the dossier is signed by
hand on its printout, and docs/registry.md says what the keyed trail does and does not prove.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import getpass
import hashlib
import hmac
import json
import logging
import os
import socket
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.errors import SealauditError

log = logging.getLogger(__name__)

GENESIS = "0" * 64
UNHASHED = ("hash", "mac")  # the fields computed from the rest
ACTIONS = ("promote", "refuse", "rollback")
MEANINGS = ("authored", "reviewed", "approved")  # what a signer may give
REFUSED = "refused"  # the meaning recorded for a refusal, whatever the signer asked
RECORDED_MEANINGS = (*MEANINGS, REFUSED)


class AuditError(SealauditError):
    """The audit log cannot be read or appended to."""


@dataclass(frozen=True)
class VerifyReport:
    """Outcome of ``verify_log``: ``ok`` is True only when ``problems`` is empty."""

    entries: int
    head_hash: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the chain and every anchor check out."""
        return not self.problems


def canonical(obj: Any) -> bytes:
    """The one byte form hashed: sorted keys, no spaces, UTF-8."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(entry: Mapping[str, Any]) -> str:
    """SHA-256 of the entry without its own ``hash`` and ``mac`` fields."""
    body = {key: value for key, value in entry.items() if key not in UNHASHED}
    return hashlib.sha256(canonical(body)).hexdigest()


def key_id(key: bytes) -> str:
    """A short public name of the audit key (never enough to forge with)."""
    return hashlib.sha256(key).hexdigest()[:16]


def entry_mac(key: bytes, digest: str) -> str:
    """HMAC-SHA256 of an entry's ``hash`` (which covers every other field and ``prev_hash``)."""
    return hmac.new(key, digest.encode("ascii"), hashlib.sha256).hexdigest()


def mac_matches(key: bytes, digest: str, mac: str) -> bool:
    """Whether ``mac`` authenticates ``digest`` under ``key`` (constant-time compare)."""
    return hmac.compare_digest(entry_mac(key, digest), str(mac))


def utc_now() -> str:
    """Current time, UTC, ISO-8601 with seconds and an explicit offset."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock beside ``path`` so racing writers serialise (one host)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with Path(f"{path}.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def read_entries(path: Path) -> list[dict[str, Any]]:
    """All entries of the log (empty when the file does not exist yet)."""
    path = Path(path)
    if not path.is_file():
        return []
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise AuditError(f"{path}:{number}: not JSON ({error}); the log was damaged") from error
    return entries


def prepare_entry(path: Path, record: Mapping[str, Any], key: bytes) -> dict[str, Any]:
    """The entry ``record`` becomes when chained onto the log now (seq, hashes, time, MAC).

    Nothing is written: a decision first makes its registry changes, which cite this entry,
    and writes the entry last (``write_entry``), so the log never shows a change the registry
    does not hold. The caller holds ``locked(path)`` so the head cannot move in between.
    """
    _check_record(record)
    path = Path(path)
    verdict = verify_log(path, key=key)
    if not verdict.ok:
        raise AuditError(
            f"{path}: refusing to append to a broken log ({verdict.problems[0]}); "
            "restore it from backup and run `sealaudit audit verify`"
        )
    entry = {
        **record,
        "seq": verdict.entries + 1,
        "signed_at": utc_now(),
        "recorded_by": f"{getpass.getuser()}@{socket.gethostname()}",
        "prev_hash": verdict.head_hash,
        "key_id": key_id(key),
    }
    entry["hash"] = entry_hash(entry)
    entry["mac"] = entry_mac(key, entry["hash"])
    return entry


def write_entry(path: Path, entry: Mapping[str, Any]) -> None:
    """Append a prepared entry as one line, flushed to disk before returning."""
    line = json.dumps(dict(entry), sort_keys=True, ensure_ascii=False) + "\n"
    with Path(path).open("a", encoding="utf-8") as handle:
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())
    log.info(
        "audit entry %d (%s %s v%s)",
        entry["seq"],
        entry["action"],
        entry["model_name"],
        entry["version"],
    )


def append_entry(path: Path, record: Mapping[str, Any], key: bytes) -> dict[str, Any]:
    """Chain ``record`` onto the log now and return the stored entry."""
    entry = prepare_entry(path, record, key)
    write_entry(path, entry)
    return entry


def _check_record(record: Mapping[str, Any]) -> None:
    missing = [
        k for k in ("action", "model_name", "version", "signer", "meaning") if k not in record
    ]
    if missing:
        raise AuditError(f"audit record lacks {missing}")
    if record["action"] not in ACTIONS:
        raise AuditError(f"audit action {record['action']!r} is not one of {list(ACTIONS)}")
    if record["meaning"] not in RECORDED_MEANINGS:
        raise AuditError(f"signature meaning {record['meaning']!r}: use one of {list(MEANINGS)}")
    if (record["action"] == "refuse") != (record["meaning"] == REFUSED):
        raise AuditError(f"meaning {REFUSED!r} goes with a refusal and only with one")
    if not str(record["signer"]).strip():
        raise AuditError("signer is empty: give the printed name of the person signing")


def verify_log(
    path: Path, anchors: Mapping[int, str] | None = None, key: bytes | None = None
) -> VerifyReport:
    """Check every line's hash, the chain links, the sequence, the MACs and the ``anchors``.

    Args:
        path: the JSON-lines log.
        anchors: ``seq -> hash`` recorded in the registry: each must appear in the log
            (truncation, rewrite), and no line may follow the newest (appended lines).
        key: the audit key; when given, every line's ``mac`` must match (forged lines).

    Returns:
        A report listing every problem found (one per broken line or missing anchor).
    """
    try:
        entries = read_entries(Path(path))
    except AuditError as error:
        return VerifyReport(entries=0, head_hash=GENESIS, problems=[str(error)])
    problems: list[str] = []
    previous = GENESIS
    for index, entry in enumerate(entries, start=1):
        problems += _line_problems(entry, index, previous)
        if key is not None:
            problems += _mac_problems(entry, index, key)
        previous = str(entry.get("hash", ""))
    if anchors is not None:
        problems += _anchor_problems(entries, anchors)
    return VerifyReport(entries=len(entries), head_hash=previous, problems=problems)


def _anchor_problems(entries: list[dict[str, Any]], anchors: Mapping[int, str]) -> list[str]:
    by_seq = {entry.get("seq"): entry.get("hash") for entry in entries}
    problems = [
        f"entry {seq} recorded in the registry ({expected[:12]}...) is missing or "
        "altered in the log (truncated or rewritten)"
        for seq, expected in sorted(anchors.items())
        if by_seq.get(seq) != expected
    ]
    newest = max(anchors, default=0)
    if len(entries) > newest:
        first = newest + 1
        problems.append(
            f"lines {first}..{len(entries)} follow the newest head the registry anchors "
            f"(entry {newest}): appended outside `sealaudit promote`"
            if newest
            else f"the registry anchors none of the log's {len(entries)} entries (appended "
            "outside `sealaudit promote`, or a log from another registry)"
        )
    return problems


def _mac_problems(entry: dict[str, Any], index: int, key: bytes) -> list[str]:
    if "mac" not in entry:
        return [f"line {index}: no MAC (not written by `sealaudit promote` with the audit key)"]
    if entry.get("key_id") != key_id(key):
        return [
            f"line {index}: authenticated with key {entry.get('key_id')}, not the audit key "
            f"at hand ({key_id(key)}): check $SEALAUDIT_AUDIT_KEY_FILE"
        ]
    if not mac_matches(key, str(entry.get("hash", "")), str(entry["mac"])):
        return [f"line {index}: MAC does not match (forged or edited line)"]
    return []


def _line_problems(entry: dict[str, Any], index: int, previous: str) -> list[str]:
    problems = []
    if entry.get("seq") != index:
        problems.append(
            f"line {index}: seq {entry.get('seq')} where {index} was expected "
            "(a line was deleted, inserted or reordered)"
        )
    if entry.get("prev_hash") != previous:
        if index == 1:
            problems.append("line 1: prev_hash is not the 64 zeros that start a chain")
        else:
            problems.append(f"line {index}: prev_hash does not match line {index - 1}'s hash")
    if entry.get("hash") != entry_hash(entry):
        problems.append(f"line {index}: content does not match its hash (edited)")
    return problems
