"""One dossier end to end: context -> HTML/PDF -> sha256 -> JSON sidecar for promotion.

Used by the ``render_dossier`` stage and the ``sealaudit dossier`` command alike.
"""

from __future__ import annotations

import contextlib
import json
import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipeline.atomic import discard, partial_path, publish
from pipeline.config.render_dossier import Params
from pipeline.dossier.context import attachment_name, build_context, digest_files
from pipeline.dossier.evidence import EvidencePaths
from pipeline.dossier.render import RenderedDossier, render_dossier

log = logging.getLogger(__name__)


def produce_dossier(
    paths: EvidencePaths,
    mode: str,
    params: Params,
    default_model_name: str,
    templates_dir: Path,
    out_dir: Path,
    champion: tuple[EvidencePaths, str] | None = None,
    compare: bool = False,
) -> dict[str, Any]:
    """Render ``<model>-v<version>.html/.pdf/.pdf.sha256`` and the sidecar ``.json``.

    Returns:
        The sidecar content (model, version, lineage key, PDF name and sha256, verdict).
    """
    context = build_context(
        paths,
        mode,
        system=params.system_name,
        default_model_name=default_model_name,
        gallery_per_kind=params.gallery_per_kind,
        champion=champion,
        compare=compare,
    )
    meta, verdict = context["meta"], context["verdict"]
    stem = f"{meta['model_name']}-v{meta['version']}"
    attachments = {attachment_name(k): v for k, v in digest_files(paths).items()}
    target = Path(out_dir) / f"{stem}.json"
    release = [Path(out_dir) / f"{stem}{suffix}" for suffix in (".html", ".pdf", ".pdf.sha256")]
    try:
        rendered = render_dossier(
            context, templates_dir, out_dir, stem, attachments, params.pdf_variant
        )
        sidecar = _sidecar(mode, meta, verdict, rendered, params)
        partial_path(target).write_text(
            json.dumps(sidecar, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        # all four written: only now does the previous release give way, file by file
        publish([*release, target])
    finally:
        discard([*release, target])
    log.info("%s v%s: %s (%s)", meta["model_name"], meta["version"], verdict["label"], rendered.pdf)
    return sidecar


def _sidecar(
    mode: str,
    meta: dict[str, Any],
    verdict: dict[str, Any],
    rendered: RenderedDossier,
    params: Params,
) -> dict[str, Any]:
    """What ``promote`` reads about a rendered dossier (its file names and hashes)."""
    identity = {k: meta[k] for k in ("model_name", "version", "lineage_key")}
    return {
        **identity,
        "mode": mode,
        "models": {mode: identity},
        "dossier_id": meta["dossier_id"],
        "evidence_sha256": meta["evidence_digest"],
        "verdict": verdict["label"],
        "unmet": [row["id"] for row in verdict["unmet"]],
        "pdf": rendered.pdf.name,
        "pdf_sha256": rendered.pdf_sha256,
        "html": rendered.html.name,
        "html_sha256": rendered.html_sha256,
        "pdf_variant": params.pdf_variant,
        "rendered_by": meta["generator"],
    }


@contextlib.contextmanager
def champion_evidence(
    paths: EvidencePaths, model_name: str, version: str, alias: str, companion: str = ""
) -> Iterator[tuple[EvidencePaths, str] | None]:
    """The evidence of the version holding ``alias``, fetched from the registry for the
    duration of the block; None when there is none, it is this version, or no registry."""
    if version == "unregistered":
        yield None
        return
    from pipeline.dossier.registry_evidence import champion_version, fetch_version
    from pipeline.registry.tracking import connect

    client, _ = connect()
    held_by = champion_version(client, model_name, alias)
    if held_by is None or held_by == version:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="sealaudit-champion-") as tmp:
        fetched = fetch_version(client, model_name, held_by, Path(tmp), companion)
        champion = EvidencePaths(
            fetched.evidence_dir,
            paths.validation_dir,
            paths.dataset_info,
            paths.dvc_lock,
            paths.data_dvc,
            paths.audit_log,
        )
        yield champion, f"{model_name} v{held_by} ({alias})"
