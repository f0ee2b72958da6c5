"""Whether an SSI-format import is the published SSI dataset (Zenodo 7834077).

Any folder in the SSI layout imports; only one whose source files' hashes are a published list
(``source_hashes.csv``'s sha256 among ``PUBLISHED``) is credited to the published dataset. Any
other import is "SSI-format data of unverified origin": citation, licence and DOI are not
borrowed from a dataset it may not be.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.evidence.origin import UNVERIFIED_CITATION, UNVERIFIED_LICENCE


@dataclass(frozen=True)
class PublishedSource:
    """A published SSI release, known by the sha256 of its ``source_hashes.csv``."""

    name: str
    source_hashes_sha256: str
    citation: str
    licence: str
    doi: dict[str, str]


# No release is listed yet: the list needs ``source_hashes.csv`` of an import of the unmodified
# Zenodo 7834077 files, checked against the record's own checksums. Until then every import is
# of unverified origin, which is what the evidence can show.
PUBLISHED: tuple[PublishedSource, ...] = ()


def origin(
    source_hashes_sha256: str, published: tuple[PublishedSource, ...] = PUBLISHED
) -> dict[str, Any]:
    """``dataset.json``'s citation, licence, DOI and ``origin`` for an import whose
    ``source_hashes.csv`` has this sha256."""
    match = next((p for p in published if p.source_hashes_sha256 == source_hashes_sha256), None)
    if match is None:
        return {
            "citation": UNVERIFIED_CITATION,
            "licence": UNVERIFIED_LICENCE,
            "doi": None,
            "origin": {"verified": False, "published_list": None},
        }
    return {
        "citation": match.citation,
        "licence": match.licence,
        "doi": dict(match.doi),
        "origin": {"verified": True, "published_list": match.name},
    }
