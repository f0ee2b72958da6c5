"""The words ``dataset.json`` and the dossier use for data whose origin is not verified.

Shared by the SSI importer (``pipeline.data.ssi_origin``), which writes them, and the dossier,
which states them for any SSI-format import not matched to a published list.
"""

UNVERIFIED_CITATION = (
    "SSI-format data of unverified origin (the hashes of its source files match no published "
    "list, pipeline.data.ssi_origin)"
)
UNVERIFIED_LICENCE = "unknown: data of unverified origin; establish it with the data's supplier"
